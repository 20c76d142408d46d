//! The schema registry: RFC 7643 User, Group and the enterprise User extension, as static
//! data. Attribute lookups are case-insensitive (RFC 7643 §2.1).

use scim_proto::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: &'static str,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [AttrDef],
}

impl AttrDef {
    /// Finds a sub-attribute by name, ignoring case.
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.sub, name)
    }
}

pub(crate) fn find(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

const fn attr(name: &'static str, ty: AttrType, description: &'static str) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        description,
        canonical: &[],
        reference_types: &[],
        sub: &[],
    }
}

const fn s(name: &'static str, description: &'static str) -> AttrDef {
    attr(name, AttrType::String, description)
}

const fn b(name: &'static str, description: &'static str) -> AttrDef {
    attr(name, AttrType::Boolean, description)
}

const fn r(name: &'static str, types: &'static [&'static str], description: &'static str) -> AttrDef {
    AttrDef {
        reference_types: types,
        ..attr(name, AttrType::Reference, description)
    }
}

const fn complex(name: &'static str, sub: &'static [AttrDef], description: &'static str) -> AttrDef {
    AttrDef {
        sub,
        ..attr(name, AttrType::Complex, description)
    }
}

const fn multi(name: &'static str, sub: &'static [AttrDef], description: &'static str) -> AttrDef {
    AttrDef {
        multi: true,
        sub,
        ..attr(name, AttrType::Complex, description)
    }
}

const fn typed(name: &'static str, canonical: &'static [&'static str]) -> AttrDef {
    AttrDef {
        canonical,
        ..s(name, "A label indicating the attribute's function.")
    }
}

const fn ro(a: AttrDef) -> AttrDef {
    AttrDef {
        mutability: Mutability::ReadOnly,
        ..a
    }
}

const fn exact(a: AttrDef) -> AttrDef {
    AttrDef { case_exact: true, ..a }
}

macro_rules! mv_sub {
    ($types:expr) => {
        &[
            s("value", "The attribute's value."),
            s("display", "A human-readable name, primarily used for display purposes."),
            typed("type", $types),
            b(
                "primary",
                "A Boolean value indicating the 'primary' or preferred attribute value.",
            ),
        ]
    };
}

pub static USER_ATTRS: &[AttrDef] = &[
    AttrDef {
        required: true,
        uniqueness: Uniqueness::Server,
        ..s(
            "userName",
            "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.",
        )
    },
    complex(
        "name",
        &[
            s(
                "formatted",
                "The full name, including all middle names, titles, and suffixes.",
            ),
            s("familyName", "The family name of the User."),
            s("givenName", "The given name of the User."),
            s("middleName", "The middle name(s) of the User."),
            s("honorificPrefix", "The honorific prefix(es) of the User."),
            s("honorificSuffix", "The honorific suffix(es) of the User."),
        ],
        "The components of the user's real name.",
    ),
    s(
        "displayName",
        "The name of the User, suitable for display to end-users.",
    ),
    s("nickName", "The casual way to address the user in real life."),
    r(
        "profileUrl",
        &["external"],
        "A fully qualified URL pointing to a page representing the User's online profile.",
    ),
    s("title", "The user's title, such as \"Vice President.\""),
    s(
        "userType",
        "Used to identify the relationship between the organization and the user.",
    ),
    s(
        "preferredLanguage",
        "Indicates the User's preferred written or spoken language.",
    ),
    s(
        "locale",
        "Used to indicate the User's default location for purposes of localizing items.",
    ),
    s(
        "timezone",
        "The User's time zone in the 'Olson' time zone database format.",
    ),
    b("active", "A Boolean value indicating the User's administrative status."),
    AttrDef {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        case_exact: true,
        ..s("password", "The User's cleartext password.")
    },
    multi(
        "emails",
        mv_sub!(&["work", "home", "other"]),
        "Email addresses for the user.",
    ),
    multi(
        "phoneNumbers",
        mv_sub!(&["work", "home", "mobile", "fax", "pager", "other"]),
        "Phone numbers for the User.",
    ),
    multi(
        "ims",
        mv_sub!(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        "Instant messaging addresses for the User.",
    ),
    multi(
        "photos",
        &[
            r("value", &["external"], "URL of a photo of the User."),
            s("display", "A human-readable name, primarily used for display purposes."),
            typed("type", &["photo", "thumbnail"]),
            b(
                "primary",
                "A Boolean value indicating the 'primary' or preferred attribute value.",
            ),
        ],
        "URLs of photos of the User.",
    ),
    multi(
        "addresses",
        &[
            s(
                "formatted",
                "The full mailing address, formatted for display or use with a mailing label.",
            ),
            s("streetAddress", "The full street address component."),
            s("locality", "The city or locality component."),
            s("region", "The state or region component."),
            s("postalCode", "The zip code or postal code component."),
            s("country", "The country name component."),
            typed("type", &["work", "home", "other"]),
            b(
                "primary",
                "A Boolean value indicating the 'primary' or preferred attribute value.",
            ),
        ],
        "A physical mailing address for this User.",
    ),
    ro(multi(
        "groups",
        &[
            ro(s("value", "The identifier of the User's group.")),
            ro(r(
                "$ref",
                &["User", "Group"],
                "The URI of the corresponding 'Group' resource.",
            )),
            ro(s(
                "display",
                "A human-readable name, primarily used for display purposes.",
            )),
            ro(typed("type", &["direct", "indirect"])),
        ],
        "A list of groups to which the user belongs.",
    )),
    multi("entitlements", mv_sub!(&[]), "A list of entitlements for the User."),
    multi("roles", mv_sub!(&[]), "A list of roles for the User."),
    multi(
        "x509Certificates",
        &[
            attr("value", AttrType::Binary, "The value of an X.509 certificate."),
            s("display", "A human-readable name, primarily used for display purposes."),
            typed("type", &[]),
            b(
                "primary",
                "A Boolean value indicating the 'primary' or preferred attribute value.",
            ),
        ],
        "A list of certificates issued to the User.",
    ),
];

pub static ENTERPRISE_ATTRS: &[AttrDef] = &[
    s(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    s("costCenter", "Identifies the name of a cost center."),
    s("organization", "Identifies the name of an organization."),
    s("division", "Identifies the name of a division."),
    s("department", "Identifies the name of a department."),
    complex(
        "manager",
        &[
            s("value", "The id of the SCIM resource representing the User's manager."),
            r(
                "$ref",
                &["User"],
                "The URI of the SCIM resource representing the User's manager.",
            ),
            ro(s("displayName", "The displayName of the User's manager.")),
        ],
        "The User's manager.",
    ),
];

pub static GROUP_ATTRS: &[AttrDef] = &[
    AttrDef {
        required: true,
        uniqueness: Uniqueness::Server,
        ..s("displayName", "A human-readable name for the Group.")
    },
    multi(
        "members",
        &[
            AttrDef {
                mutability: Mutability::Immutable,
                ..exact(s("value", "Identifier of the member of this Group."))
            },
            AttrDef {
                mutability: Mutability::Immutable,
                ..r(
                    "$ref",
                    &["User", "Group"],
                    "The URI corresponding to a SCIM resource that is a member of this Group.",
                )
            },
            s("display", "A human-readable name, primarily used for display purposes."),
            AttrDef {
                mutability: Mutability::Immutable,
                ..typed("type", &["User", "Group"])
            },
        ],
        "A list of members of the Group.",
    ),
];

#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attrs: &'static [AttrDef],
}

pub static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attrs: USER_ATTRS,
};
pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attrs: ENTERPRISE_ATTRS,
};
pub static GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attrs: GROUP_ATTRS,
};

pub static ALL_SCHEMAS: &[&SchemaDef] = &[&USER, &ENTERPRISE_USER, &GROUP];

/// The resource types this server exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    pub fn core(self) -> &'static SchemaDef {
        match self {
            ResourceKind::User => &USER,
            ResourceKind::Group => &GROUP,
        }
    }

    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        static USER_EXT: [&SchemaDef; 1] = [&ENTERPRISE_USER];
        match self {
            ResourceKind::User => &USER_EXT,
            ResourceKind::Group => &[],
        }
    }

    /// Finds a known extension by URN, ignoring case.
    pub fn extension(self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The attribute holding the uniqueness key: `userName` or `displayName`.
    pub fn name_attr(self) -> &'static str {
        match self {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }

    pub fn code(self) -> i64 {
        match self {
            ResourceKind::User => 0,
            ResourceKind::Group => 1,
        }
    }

    /// The inverse of [`ResourceKind::code`].
    pub fn from_code(code: i64) -> Option<ResourceKind> {
        match code {
            0 => Some(ResourceKind::User),
            1 => Some(ResourceKind::Group),
            _ => None,
        }
    }
}
