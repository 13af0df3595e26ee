//! PostgreSQL over TLS, against a server this test starts itself: initdb
//! into a temporary directory, `ssl = on` with a certificate from a CA the
//! test makes, and a pg_hba.conf that accepts TCP only with TLS
//! (`hostssl`). `sslmode=verify-full` with the right CA connects and
//! stores entries (the sequencer's lease connection too); with another CA
//! or a host name the certificate does not carry it fails; `require`
//! encrypts without checking; `disable` is refused by the server.

use notarium_core::entry::SubmitterId;
use notarium_core::merkle;
use notarium_store::{NewEntry, PostgresStore, Store};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The newest installed server's bin directory.
fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect(
            "PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)",
        )
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect("no /usr/lib/postgresql/*/bin/initdb")
}

/// The uid and gid of the `postgres` OS user, when this test runs as root
/// (PostgreSQL refuses to run as root).
fn postgres_user() -> Option<(u32, u32)> {
    let uid = |args: &[&str]| -> u32 {
        let o = Command::new("id").args(args).output().unwrap();
        String::from_utf8(o.stdout).unwrap().trim().parse().unwrap()
    };
    if uid(&["-u"]) != 0 {
        return None;
    }
    Some((uid(&["-u", "postgres"]), uid(&["-g", "postgres"])))
}

/// A CA and a server certificate signed by it.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    (Issuer::new(p, key), cert.pem())
}

fn pki() -> Pki {
    let (issuer, ca_pem) = ca("Notarium test PostgreSQL CA");
    let mut p =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "pg.test".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "pg.test");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &issuer).unwrap();
    Pki {
        ca_pem,
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A PostgreSQL server of this test; stopped and removed on drop.
struct PgServer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl PgServer {
    fn start(pki: &Pki) -> PgServer {
        let bin = pg_bin();
        let user = postgres_user();
        let dir = std::env::temp_dir().join(format!("notarium-pgtls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("data");
        let as_server_user = |cmd: &mut Command| {
            if let Some((uid, gid)) = user {
                cmd.uid(uid).gid(gid);
            }
        };
        std::fs::write(dir.join("server.crt"), &pki.cert_pem).unwrap();
        std::fs::write(dir.join("server.key"), &pki.key_pem).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        if let Some((uid, gid)) = user {
            for p in ["", "server.crt", "server.key"] {
                std::os::unix::fs::chown(dir.join(p), Some(uid), Some(gid)).unwrap();
            }
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null());
        as_server_user(&mut initdb);
        let out = initdb.output().unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        use std::io::Write;
        writeln!(
            conf,
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir}'\n\
             ssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\n\
             fsync = off\nmax_connections = 40\n",
            dir = dir.display()
        )
        .unwrap();
        // TCP only with TLS: no `host` line, so plain TCP finds no entry.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let mut postgres = Command::new(bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_server_user(&mut postgres);
        let child = postgres.spawn().unwrap();
        let mut server = PgServer { child, dir, port };
        // Ready when pg_isready says so, within a deadline.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = server.child.try_wait().unwrap() {
                panic!("postgres exited at start: {st}");
            }
            let ok = Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .unwrap()
                .success();
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "postgres not ready within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn url(&self, host: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{params}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Fast shutdown (SIGINT ends the backends too), then make sure.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn entry(n: u64) -> NewEntry {
    let h = |t: String| merkle::sha256(t.as_bytes());
    NewEntry {
        id: format!("{:032x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15 + 1),
        tenant: SubmitterId::parse("acme").unwrap(),
        evidence_sha256: h(format!("evidence {n}")),
        salt: h(format!("salt {n}")),
        metadata: None,
        received_ms: 1_764_000_000_000 + n as i64,
        leaf_hash: merkle::leaf_hash(format!("leaf {n}").as_bytes()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_as_sslmode_says() {
    let pki = pki();
    let server = PgServer::start(&pki);
    let files = tempfile_dir();
    let ca_file = files.join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let (_, other_ca) = ca("Another CA");
    let other_file = files.join("other-ca.pem");
    std::fs::write(&other_file, other_ca).unwrap();
    let ca = ca_file.display();

    // verify-full with the right CA: connects, migrates, stores and reads
    // back entries, and takes the sequencer lease on its own connection.
    let url = server.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let store = PostgresStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = SubmitterId::parse("acme").unwrap();
    store.add_tenant(&tenant, 1).await.unwrap();
    let mut entries = vec![entry(1), entry(2)];
    store.insert_entries(&mut entries).await.unwrap();
    for e in &entries {
        let got = store.get_entry(&tenant, &e.id).await.unwrap().unwrap();
        assert_eq!(got.entry, *e);
    }
    assert_eq!(store.pending_count().await.unwrap(), 2);
    let lease = store.acquire_sequencer("tls-test").await.unwrap();
    assert!(
        lease.is_some(),
        "the lease connection (over TLS) holds the lock"
    );
    drop(store);

    // verify-ca checks the chain only: a host name the certificate lacks
    // (the server is reached by its address) passes; verify-full fails.
    let by_name = |mode: &str| {
        format!(
            "host=pg.invalid hostaddr=127.0.0.1 port={} user=postgres dbname=postgres sslmode={mode} sslrootcert={ca}",
            server.port
        )
    };
    let s = PostgresStore::connect(&by_name("verify-ca")).await.unwrap();
    assert_eq!(s.pending_count().await.unwrap(), 2);
    drop(s);
    let e = PostgresStore::connect(&by_name("verify-full"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid for name \"pg.invalid\""), "{e}");

    // Another CA: the handshake fails, and the error says why.
    let url = server.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", other_file.display()),
    );
    let e = PostgresStore::connect(&url).await.unwrap_err().to_string();
    assert!(
        e.contains("sslmode=verify-full") && e.contains("UnknownIssuer"),
        "{e}"
    );

    // require: encrypted, the certificate not checked (as libpq).
    let s = PostgresStore::connect(&server.url("127.0.0.1", "sslmode=require"))
        .await
        .unwrap();
    assert_eq!(s.pending_count().await.unwrap(), 2);
    drop(s);

    // disable: the server has no entry for plain TCP.
    let e = PostgresStore::connect(&server.url("127.0.0.1", "sslmode=disable"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no pg_hba.conf entry") && e.contains("no encryption"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&files);
}

/// A fresh directory for the client's CA files.
fn tempfile_dir() -> PathBuf {
    let p = std::env::temp_dir().join(format!("notarium-pgtls-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}
