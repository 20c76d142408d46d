//! A real OpenLDAP `slapd` (Debian's package) for the LDAP source's tests and benchmark: its
//! own configuration and MDB database in a temporary folder, loaded with `slapadd`, listening
//! on a loopback port. Its log (`-d stats`) is kept, so a test can see the searches it served.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// The suffix every test directory has.
pub const BASE_DN: &str = "dc=example,dc=org";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PASSWORD: &str = "admin-secret";

/// The base entries (the suffix, `ou=people`, `ou=groups`) as LDIF.
pub const BASE_LDIF: &str = "dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\n\
dc: example\no: Example\n\ndn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n\
dn: ou=groups,dc=example,dc=org\nobjectClass: organizationalUnit\nou: groups\n\n";

fn bin(name: &str) -> String {
    let sbin = format!("/usr/sbin/{name}");
    if Path::new(&sbin).exists() {
        sbin
    } else {
        name.to_string()
    }
}

pub struct Slapd {
    /// `ldap://127.0.0.1:PORT`
    pub url: String,
    child: Child,
    log: Log,
    _dir: tempfile::TempDir,
}

/// Set (CI sets it) to make a missing slapd a test failure rather than a skip.
pub const REQUIRE_ENV: &str = "SCIMD_TEST_REQUIRE_SLAPD";

impl Slapd {
    /// [`Self::start`] when Debian's `slapd` is installed. Without it the caller skips its
    /// test (saying so on stderr), unless [`REQUIRE_ENV`] is set: then it panics.
    pub fn start_if_installed(ldif: &str) -> Option<Slapd> {
        Self::if_installed(ldif, false)
    }

    /// [`Self::start_tls`] when slapd is installed; see [`Self::start_if_installed`].
    pub fn start_tls_if_installed(ldif: &str) -> Option<Slapd> {
        Self::if_installed(ldif, true)
    }

    fn if_installed(ldif: &str, tls: bool) -> Option<Slapd> {
        let installed = ["slapd", "slapadd"]
            .iter()
            .all(|b| Command::new(bin(b)).arg("-VV").output().is_ok());
        if installed {
            return Some(Slapd::start_with(ldif, tls));
        }
        if std::env::var_os(REQUIRE_ENV).is_some() {
            panic!("{REQUIRE_ENV} is set but slapd is not installed (apt-get install slapd)");
        }
        eprintln!("SKIPPED: slapd is not installed (apt-get install slapd); the LDAP tests did not run");
        None
    }

    /// A directory holding the base entries and `ldif` (entries in LDIF, blank-line separated;
    /// operational attributes such as `modifyTimestamp` are kept as given). Panics if slapd
    /// cannot start (a test helper): install Debian's `slapd` package.
    pub fn start(ldif: &str) -> Slapd {
        Self::start_with(ldif, false)
    }

    /// [`Self::start`] with StartTLS offered, on a self-signed certificate for 127.0.0.1
    /// made with `openssl`.
    pub fn start_tls(ldif: &str) -> Slapd {
        Self::start_with(ldif, true)
    }

    fn start_with(ldif: &str, tls: bool) -> Slapd {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("slapd.conf");
        std::fs::create_dir(dir.path().join("db")).expect("db dir");
        let mut text = config(dir.path());
        if tls {
            self_signed(dir.path());
            let d = dir.path().display();
            text = format!("TLSCertificateFile {d}/cert.pem\nTLSCertificateKeyFile {d}/key.pem\n{text}");
        }
        std::fs::write(&conf, text).expect("slapd.conf");
        let data = dir.path().join("data.ldif");
        let mut f = std::fs::File::create(&data).expect("data.ldif");
        f.write_all(BASE_LDIF.as_bytes()).expect("write ldif");
        f.write_all(ldif.as_bytes()).expect("write ldif");
        drop(f);
        let out = Command::new(bin("slapadd"))
            .arg("-f")
            .arg(&conf)
            .arg("-q")
            .arg("-l")
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("slapadd (apt-get install slapd): {e}"));
        assert!(
            out.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for _ in 0..5 {
            if let Some((url, child, log)) = listen(&conf) {
                return Slapd {
                    url,
                    child,
                    log,
                    _dir: dir,
                };
            }
        }
        panic!("slapd did not start");
    }
}

type Log = Arc<Mutex<Vec<String>>>;

/// Starts slapd on a free port; `None` if that port was taken meanwhile.
fn listen(conf: &Path) -> Option<(String, Child, Log)> {
    {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let url = format!("ldap://127.0.0.1:{port}");
        let mut child = Command::new(bin("slapd"))
            .arg("-f")
            .arg(conf)
            .arg("-h")
            .arg(format!("{url}/"))
            .arg("-d")
            .arg("stats")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("slapd (apt-get install slapd): {e}"));
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut seen = Vec::new();
        // slapd logs "slapd starting" once it listens; it exits if it cannot.
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("slapd starting") => break,
                Some(Ok(l)) => seen.push(l),
                _ => {
                    let _ = child.wait();
                    eprintln!("slapd on {url} exited: {}", seen.join("\n"));
                    return None;
                }
            }
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(l);
            }
        });
        Some((url, child, log))
    }
}

impl Slapd {
    /// The log lines since start (or the last [`Self::clear_log`]), e.g. `SRCH base=… filter=…`.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The search filters slapd was sent.
    pub fn filters(&self) -> Vec<String> {
        self.log()
            .iter()
            .filter_map(|l| {
                l.split(" filter=\"")
                    .nth(1)
                    .map(|f| f.trim_end_matches('"').to_string())
            })
            .collect()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// A connection bound as the directory's administrator.
    pub async fn admin(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = ldap3::LdapConnAsync::new(&self.url).await.expect("connect to slapd");
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD)
            .await
            .and_then(|r| r.success())
            .expect("bind as admin");
        ldap
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn self_signed(dir: &Path) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/nis.schema\ninclude /etc/ldap/schema/inetorgperson.schema\n\
         modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {d}/slapd.pid\nsizelimit unlimited\n\
         database mdb\nmaxsize 4294967296\nsuffix \"{BASE_DN}\"\nrootdn \"{ADMIN_DN}\"\nrootpw {ADMIN_PASSWORD}\n\
         directory {d}/db\nindex objectClass eq\nindex entryUUID eq\nindex uid,cn,member eq\n"
    )
}
