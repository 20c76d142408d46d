//! Ready-made mapping tables in the job file's TOML, shared by `scimd demo`, the sync
//! benchmark and the tests.

/// Hoxhunt's attribute table (`userName` matched on `userPrincipalName`, the work e-mail,
/// `active`, given and family name, enterprise department and division, the work address's
/// country, preferred language) plus the enterprise manager reference. `active` uses IIF,
/// which has no null gotcha.
pub const HOXHUNT_USER_MAPPINGS: &str = r#"
[[users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
[[users.mappings]]
target = 'emails[type eq "work"].value'
source = "mail"
[[users.mappings]]
target = "active"
type = "expression"
expression = 'IIF([IsSoftDeleted] = "True", "False", "True")'
[[users.mappings]]
target = "name.givenName"
source = "givenName"
[[users.mappings]]
target = "name.familyName"
source = "surname"
[[users.mappings]]
target = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
source = "department"
[[users.mappings]]
target = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"
source = "officeLocation"
[[users.mappings]]
target = 'addresses[type eq "work"].country'
source = "country"
[[users.mappings]]
target = "preferredLanguage"
source = "preferredLanguage"
[[users.mappings]]
target = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
source = "manager"
"#;

/// Groups matched on `displayName`, with the source id as `externalId`.
pub const GROUP_MAPPINGS: &str = r#"
[groups]
[[groups.mappings]]
target = "displayName"
source = "displayName"
matching = 1
[[groups.mappings]]
target = "externalId"
source = "id"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_make_a_valid_job() {
        let toml = format!(
            "version = 1\n[job]\nname = \"p\"\n[source]\ntype = \"file\"\npath = \"d.json\"\n\
             [target]\nurl = \"http://127.0.0.1:1/scim/v2/t\"\ntoken = \"t\"\n[scope]\nmode = \"all\"\n\
             {HOXHUNT_USER_MAPPINGS}{GROUP_MAPPINGS}"
        );
        let cfg = crate::config::JobConfig::parse(&toml).unwrap();
        crate::validate::validate(&cfg).unwrap();
        assert_eq!(cfg.users.mappings.len(), 10);
        assert_eq!(cfg.groups.as_ref().map(|g| g.mappings.len()), Some(2));
    }
}
