//! Harness for the end-to-end tests: starts the real `sitegroup` program (built as
//! `sitegroup-e2e` from the same entry point) on free ports in a temporary directory, and talks
//! HTTP to it through the gateway like a browser would.
//!
//! Database: SQLite in the temporary directory, or, when `SITEGROUP_TEST_DATABASE_URL` names a
//! PostgreSQL server (e.g. `postgres://postgres@127.0.0.1:5432/test`), a fresh database created
//! there for each test and dropped afterwards.

#![allow(clippy::unwrap_used, dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};

pub const PORTAL: &str = "www.demo.localhost";
pub const EDU: &str = "edu.demo.localhost";
pub const ADMIN: &str = "admin.localhost";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port on 127.0.0.1 where no test's server can be listening: a connection to it is refused.
/// (Port 1 is below the ephemeral range [`free_port`] draws from; a port from `free_port` that
/// is meant to stay dead can be handed to another test's server moments later.)
pub fn dead_port() -> u16 {
    1
}

/// A running `sitegroup` process.
pub struct Process {
    child: Option<Child>,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Process {
    pub fn spawn(args: &[&str], cwd: &Path) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sitegroup-e2e"))
            .args(args)
            .current_dir(cwd)
            .env("SITEGROUP_LOG", "info")
            .env_remove("SITEGROUP_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sitegroup");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        for (pipe, sink) in [
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
                stdout.clone(),
            ),
            (Box::new(child.stderr.take().unwrap()), stderr.clone()),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        Process {
            child: Some(child),
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stdout contains `needle`; `None` when the program stopped because a port it
    /// was given had been taken meanwhile (ports come from `free_port`, which cannot hold them).
    pub fn wait_started(&self, needle: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let out = self.stdout();
            if out.contains(needle) {
                return Some(out);
            }
            if self.stderr().contains("Address already in use") {
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on stdout within {within:?}\nstdout:\n{out}\nstderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until stdout contains `needle`.
    pub fn wait_stdout(&self, needle: &str, within: Duration) -> String {
        self.wait_started(needle, within)
            .unwrap_or_else(|| panic!("a port given to the program was taken:\n{}", self.stderr()))
    }

    /// Sends `signal` (TERM, INT) and waits for the exit; returns how long it took.
    pub fn stop_with(&mut self, signal: &str) -> (Duration, std::process::ExitStatus) {
        let mut child = self.child.take().expect("process already stopped");
        let started = Instant::now();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (started.elapsed(), status);
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("process did not stop within 20 s of SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The database a test runs against.
pub struct TestDb {
    /// `None`: SQLite in the data dir (the program's default).
    pub url: Option<String>,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let Ok(base) = std::env::var("SITEGROUP_TEST_DATABASE_URL") else {
            return TestDb {
                url: None,
                admin_url: None,
                name: String::new(),
            };
        };
        let name = format!("sg_e2e_{:016x}", rand_u64());
        let db = Database::connect(&base)
            .await
            .expect("connect to test database server");
        db.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        db.close().await.unwrap();
        let (prefix, _) = base.rsplit_once('/').expect("database URL ends in /dbname");
        TestDb {
            url: Some(format!("{prefix}/{name}")),
            admin_url: Some(base),
            name,
        }
    }

    /// The URL the program was given, or the SQLite file of `data_dir`.
    pub fn effective_url(&self, data_dir: &Path) -> String {
        self.url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rw",
                data_dir.join("sitegroup.db").display()
            )
        })
    }

    pub async fn drop_database(&self) {
        if let Some(admin) = &self.admin_url
            && let Ok(db) = Database::connect(admin).await
        {
            let _ = db
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
            let _ = db.close().await;
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// `sitegroup serve` with the demo group, plus an HTTP client that resolves every demo host
/// to the gateway.
pub struct Platform {
    pub dir: tempfile::TempDir,
    pub http: SocketAddr,
    pub cms: SocketAddr,
    pub process: Process,
    pub db: TestDb,
    pub admin_password: String,
    /// (username, one-time password) of the platform administrators a first start creates.
    pub one_time: Vec<(String, String)>,
}

impl Platform {
    pub async fn start() -> Platform {
        Self::start_with(&[]).await
    }

    /// Starts `sitegroup serve` with extra arguments.
    pub async fn start_with(extra: &[&str]) -> Platform {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new().await;
        let data = dir.path().join("data");
        let mut attempts = 0;
        let (http, cms, process, out) = loop {
            let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let cms: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let mut args = vec![
                "serve".to_string(),
                "--data-dir".into(),
                data.display().to_string(),
                "--http-listen".into(),
                http.to_string(),
                "--cms-listen".into(),
                cms.to_string(),
            ];
            if let Some(url) = &db.url {
                args.push("--database-url".into());
                args.push(url.clone());
            }
            args.extend(extra.iter().map(|a| a.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let process = Process::spawn(&args, dir.path());
            // Another test may take a port between `free_port` and the bind: try new ones.
            match process.wait_started("shown once", Duration::from_secs(60)) {
                Some(out) => break (http, cms, process, out),
                None if attempts < 4 => attempts += 1,
                None => panic!("ports taken five times over:\n{}", process.stderr()),
            }
        };
        let one_time = one_time_passwords(&out);
        let admin_password = one_time
            .iter()
            .find(|(u, _)| u == "admin")
            .map(|(_, p)| p.clone())
            .expect("one-time password of admin printed on first start");
        let platform = Platform {
            dir,
            http,
            cms,
            process,
            db,
            admin_password,
            one_time,
        };
        platform
            .wait_for(PORTAL, "/", Duration::from_secs(30), |status, _| {
                status == 200
            })
            .await;
        // The database under test is the one in use: no SQLite file appears beside PostgreSQL.
        assert_eq!(
            platform.data_dir().join("sitegroup.db").exists(),
            platform.db.url.is_none()
        );
        platform
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A client that sends `host` requests to the gateway, with a cookie jar and no automatic
    /// redirects.
    pub fn client(&self) -> reqwest::Client {
        client_for(self.http)
    }

    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.http.port())
    }

    /// Polls `host` + `path` through the gateway until `ok(status, body)` or the deadline.
    pub async fn wait_for(
        &self,
        host: &str,
        path: &str,
        within: Duration,
        ok: impl Fn(u16, &str) -> bool,
    ) -> (u16, String) {
        wait_for(self.http, host, path, within, ok).await
    }

    pub async fn stop(mut self) {
        let (took, status) = self.process.stop_with("TERM");
        assert!(status.success(), "exit status {status}");
        assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
        self.db.drop_database().await;
    }
}

/// The (username, one-time password) pairs a first start prints:
/// "  系统管理员 用户名 username: admin  一次性密码 one-time password: …".
pub fn one_time_passwords(banner: &str) -> Vec<(String, String)> {
    banner
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("username: ")?;
            let (user, rest) = rest.split_once(' ')?;
            let (_, password) = rest.split_once("one-time password: ")?;
            Some((user.to_string(), password.trim().to_string()))
        })
        .collect()
}

pub fn client_for(gateway: SocketAddr) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .no_proxy();
    for host in [
        PORTAL,
        EDU,
        ADMIN,
        "health.demo.localhost",
        "jiaoyu.demo.localhost",
        "unknown.example.localhost",
        "old.demo.localhost",
    ] {
        builder = builder.resolve(host, gateway);
    }
    builder.build().unwrap()
}

pub async fn wait_for(
    gateway: SocketAddr,
    host: &str,
    path: &str,
    within: Duration,
    ok: impl Fn(u16, &str) -> bool,
) -> (u16, String) {
    let url = format!("http://{host}:{}{path}", gateway.port());
    wait_with(&client_for(gateway), &url, within, ok).await
}

/// Polls `url` with `client` (e.g. a signed-in one) until `ok(status, body)` or the deadline.
pub async fn wait_with(
    client: &reqwest::Client,
    url: &str,
    within: Duration,
    ok: impl Fn(u16, &str) -> bool,
) -> (u16, String) {
    let deadline = Instant::now() + within;
    let mut last = (0, String::new());
    loop {
        if let Ok(r) = client.get(url).send().await {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            if ok(status, &body) {
                return (status, body);
            }
            last = (status, body);
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not become ready within {within:?}; last answer {}: {}",
            last.0,
            last.1.chars().take(300).collect::<String>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `sql` on `db` until `ok(rows)` or until `within` has passed (every 200 ms); the last
/// rows either way, for the caller to check.
pub async fn query_until(
    db: &sea_orm::DatabaseConnection,
    sql: &str,
    within: Duration,
    ok: impl Fn(&[sea_orm::QueryResult]) -> bool,
) -> Vec<sea_orm::QueryResult> {
    let deadline = Instant::now() + within;
    loop {
        let rows = db
            .query_all(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap();
        if ok(&rows) || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A page's text, through `client`.
pub async fn text_of(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// The value of `<input type="hidden" name="csrf" value="…">` in a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Submits the admin's sign-in form as a browser does (the form's token from GET /login).
pub async fn post_login(
    p: &Platform,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = text_of(client, p.url(ADMIN, "/login")).await;
    client
        .post(p.url(ADMIN, "/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// The current TOTP code of a secret.
pub fn totp_now(secret: &[u8]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    sitegroup_cms::auth::mfa::code_at(secret, now)
}

/// Binds an authenticator on the enrolment page (platform administrators must): returns the
/// secret.
pub async fn enrol_totp(p: &Platform, client: &reqwest::Client) -> Vec<u8> {
    let page = text_of(client, p.url(ADMIN, "/account/2fa")).await;
    let start = page
        .find("id=\"totp-secret\">")
        .expect("enrolment page shows the secret")
        + 17;
    let end = page[start..].find('<').unwrap() + start;
    let secret = sitegroup_cms::auth::mfa::parse_secret_text(&page[start..end]).unwrap();
    let r = client
        .post(p.url(ADMIN, "/account/2fa/enable"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("code", totp_now(&secret).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("恢复码只显示这一次"));
    secret
}

/// Signs in as `admin` with the one-time password, sets a new password and binds an
/// authenticator, as a newcomer would. Returns the CSRF token of the resulting session.
pub async fn sign_in_first_time(p: &Platform, client: &reqwest::Client) -> String {
    let home = sign_in_first_time_as(p, client, "admin").await;
    assert!(
        home.contains("示范市教育局"),
        "site list after sign-in: {home}"
    );
    csrf_of(&home)
}

/// Signs in as one of the platform administrators a first start creates (`admin`,
/// `secadmin`, `auditor`) with its one-time password, sets a new password and binds an
/// authenticator. Returns the page the account lands on.
pub async fn sign_in_first_time_as(p: &Platform, client: &reqwest::Client, user: &str) -> String {
    let one_time = p
        .one_time
        .iter()
        .find(|(u, _)| u == user)
        .map(|(_, pw)| pw.clone())
        .unwrap_or_else(|| panic!("no one-time password printed for {user}"));
    let r = post_login(p, client, user, &one_time).await;
    assert_eq!(r.status(), 303, "login should redirect");
    assert_eq!(
        location(&r),
        "/password",
        "one-time password must be changed first"
    );
    // Any other page sends the user back to the password change.
    let r = client.get(p.url(ADMIN, "/")).send().await.unwrap();
    assert_eq!(location(&r), "/password");
    let page = text_of(client, p.url(ADMIN, "/password")).await;
    let csrf = csrf_of(&page);
    let r = client
        .post(p.url(ADMIN, "/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current", one_time.as_str()),
            ("new_password", "Str0ng-新密码-2026"),
            ("confirm", "Str0ng-新密码-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        303,
        "password change: {}",
        r.text().await.unwrap()
    );
    assert_eq!(location(&r), "/account/2fa", "then the authenticator");
    let r = client.get(p.url(ADMIN, "/")).send().await.unwrap();
    assert_eq!(location(&r), "/account/2fa");
    enrol_totp(p, client).await;
    let mut r = client.get(p.url(ADMIN, "/")).send().await.unwrap();
    // The 安全管理员 and the 审计管理员 land in their own sections.
    if r.status() == 303 {
        let to = location(&r);
        r = client.get(p.url(ADMIN, &to)).send().await.unwrap();
    }
    r.text().await.unwrap()
}

/// Saves the demo portal's settings (site 1) as the 系统管理员's form does: status, plus any
/// extra fields (checkboxes such as `https_redirect`, `acme`); asserts it was accepted.
pub async fn save_portal_settings(
    p: &Platform,
    admin: &reqwest::Client,
    csrf: &str,
    status: &str,
    extra: &[(&str, &str)],
) {
    let mut form = vec![
        ("csrf", csrf),
        ("name", "示范市人民政府门户网站"),
        ("review_levels", "0"),
        ("status", status),
    ];
    form.extend_from_slice(extra);
    let r = admin
        .post(p.url(ADMIN, "/sites/1/settings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

/// A child process killed when dropped.
pub struct Kill(pub std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A snapshot with one legacy site proxied to `127.0.0.1:origin_port`.
pub fn legacy_snapshot(
    host: &str,
    origin_port: u16,
    inspect_responses: bool,
    oversized_body: &str,
) -> String {
    serde_json::json!({
        "contract_version": 2,
        "generation": 1,
        "generated_at": "2026-11-25T00:00:00Z",
        "sites": [{
            "id": 1,
            "name": "旧系统",
            "hostnames": [host],
            "routes": [{"path_prefix": "/", "target": {"kind": "proxy", "upstreams": [format!("127.0.0.1:{origin_port}")]}}],
            "waf": {"inspect_responses": inspect_responses, "oversized_body": oversized_body}
        }]
    })
    .to_string()
}

/// A stand-in control plane: serves `snapshot` on `/internal/v1/config` and accepts events,
/// for as long as the test runs. Returns its port.
pub fn stand_in_control_plane(snapshot: String) -> u16 {
    stand_in_control_plane_shared(Arc::new(Mutex::new(snapshot)))
}

/// What a stand-in control plane's log intake does and has received.
#[derive(Default)]
pub struct Intake {
    /// When set, `POST /internal/v1/events` answers 503 (the control plane is "down").
    pub refuse: std::sync::atomic::AtomicBool,
    /// Bodies of accepted event batches.
    pub batches: Mutex<Vec<String>>,
}

/// As [`stand_in_control_plane`], serving whatever `snapshot` holds at each request (so a test
/// can change the configuration).
pub fn stand_in_control_plane_shared(snapshot: Arc<Mutex<String>>) -> u16 {
    stand_in_control_plane_full(snapshot, Arc::new(Intake::default()))
}

/// The stand-in control plane with a log intake the test controls.
pub fn stand_in_control_plane_full(snapshot: Arc<Mutex<String>>, intake: Arc<Intake>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let snapshot = snapshot.lock().unwrap().clone();
            let intake = intake.clone();
            std::thread::spawn(move || {
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if std::io::BufRead::read_line(&mut reader, &mut line).is_err() {
                    return;
                }
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if std::io::BufRead::read_line(&mut reader, &mut h).is_err()
                        || h.trim().is_empty()
                    {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut body);
                let (status, payload) = if line.starts_with("GET /internal/v1/config") {
                    ("200 OK", snapshot)
                } else if line.starts_with("POST /internal/v1/events") {
                    if intake.refuse.load(std::sync::atomic::Ordering::SeqCst) {
                        ("503 Service Unavailable", String::new())
                    } else {
                        intake
                            .batches
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&body).into_owned());
                        ("204 No Content", String::new())
                    }
                } else {
                    ("404 Not Found", String::new())
                };
                let _ = std::io::Write::write_fmt(
                    &mut stream,
                    format_args!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                        payload.len()
                    ),
                );
            });
        }
    });
    port
}

/// Starts `tests/fixtures/injectable_origin.py` on a free port (needs `python3`).
pub fn injectable_origin() -> (Kill, u16) {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/injectable_origin.py");
    let mut child = Kill(
        Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3"),
    );
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.0.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready.trim(), "ready");
    (child, port)
}

/// Starts `sitegroup gateway` against a stand-in control plane; returns it and its port once
/// it proxies `probe` on `host`.
pub fn gateway_for(dir: &Path, cp_port: u16, host: &str, probe: &str) -> (Process, u16) {
    gateway_with(dir, cp_port, host, probe, &[])
}

/// As [`gateway_for`], with extra arguments.
pub fn gateway_with(
    dir: &Path,
    cp_port: u16,
    host: &str,
    probe: &str,
    extra: &[&str],
) -> (Process, u16) {
    let token = dir.join("token");
    std::fs::write(&token, "t".repeat(43)).unwrap();
    let gw_port = free_port();
    let data = dir.join("gw");
    let listen = format!("127.0.0.1:{gw_port}");
    let control_plane = format!("http://127.0.0.1:{cp_port}");
    let mut args = vec![
        "gateway",
        "--data-dir",
        data.to_str().unwrap(),
        "--http-listen",
        &listen,
        "--control-plane",
        &control_plane,
        "--token-file",
        token.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let gw = Process::spawn(&args, dir);
    let client = reqwest::blocking::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ok = client
            .get(format!("http://127.0.0.1:{gw_port}{probe}"))
            .header("host", host)
            .send()
            .is_ok_and(|r| r.status() == 200);
        if ok {
            return (gw, gw_port);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gateway never proxied: {}",
            gw.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits (up to 10 s) for a line containing `needle` in a log file the gateway's writer thread
/// fills, and returns it.
pub fn log_line(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no line with {needle:?} in {}: {text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `python3` is missing (tests with a Python origin then print a notice and pass).
pub fn python3_missing(test: &str) -> bool {
    let missing = Command::new("python3").arg("--version").output().is_err();
    if missing {
        eprintln!("NOTICE: python3 not found; skipping {test}");
    }
    missing
}

/// A local server on a free port that hands each connection to `session` on a thread of its
/// own and keeps what the sessions record: the mail sink (`Sink::smtp`) and the webhook
/// receiver (`Sink::webhook`) of the alert tests.
pub struct Sink<T> {
    pub port: u16,
    items: Arc<Mutex<Vec<T>>>,
}

/// Mails received, decoded: `Subject: …`, a blank line, the text.
pub type SmtpSink = Sink<String>;
/// JSON bodies received.
pub type WebhookSink = Sink<serde_json::Value>;

impl<T: Clone + std::fmt::Debug + Send + 'static> Sink<T> {
    fn start(session: fn(std::net::TcpStream, &Mutex<Vec<T>>) -> std::io::Result<()>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let items = Arc::new(Mutex::new(Vec::new()));
        let out = items.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let out = out.clone();
                std::thread::spawn(move || {
                    let _ = session(conn, &out);
                });
            }
        });
        Sink { port, items }
    }

    /// Everything received so far.
    pub fn items(&self) -> Vec<T> {
        self.items.lock().unwrap().clone()
    }

    /// Waits until something received satisfies `ok`; returns it.
    pub async fn wait_for(&self, what: &str, within: Duration, ok: impl Fn(&T) -> bool) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(item) = self.items().into_iter().find(|i| ok(i)) {
                return item;
            }
            assert!(
                Instant::now() < deadline,
                "nothing ({what}) within {within:?}; got {:#?}",
                self.items()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl SmtpSink {
    /// Accepts every message (plain SMTP).
    pub fn smtp() -> SmtpSink {
        Sink::start(smtp_session)
    }
}

impl WebhookSink {
    /// Accepts every POST and keeps its JSON body.
    pub fn webhook() -> WebhookSink {
        Sink::start(webhook_request)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }
}

fn smtp_session(conn: std::net::TcpStream, out: &Mutex<Vec<String>>) -> std::io::Result<()> {
    use std::io::Write;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut w = conn;
    w.write_all(b"220 sink ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        if cmd.starts_with("EHLO") {
            w.write_all(b"250-sink\r\n250 8BITMIME\r\n")?;
        } else if cmd.starts_with("DATA") {
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            out.lock().unwrap().push(decode_mail(&data));
            w.write_all(b"250 queued\r\n")?;
        } else if cmd.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"250 OK\r\n")?;
        }
    }
}

/// The subject (RFC 2047 words decoded) and the text body (base64 or quoted-printable
/// decoded) of a plain-text message.
fn decode_mail(raw: &str) -> String {
    use base64::Engine;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let head = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let b64 = |s: &str| {
        let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8_lossy(
            &base64::engine::general_purpose::STANDARD
                .decode(clean)
                .unwrap_or_default(),
        )
        .into_owned()
    };
    let mut subject = String::new();
    for word in header("Subject").split_whitespace() {
        let parts: Vec<&str> = word.split('?').collect();
        match parts.as_slice() {
            ["=", _charset, enc, data, "="] if enc.eq_ignore_ascii_case("b") => {
                subject.push_str(&b64(data))
            }
            _ => {
                subject.push_str(word);
                subject.push(' ');
            }
        }
    }
    let text = match header("Content-Transfer-Encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => b64(body),
        "quoted-printable" => {
            let joined = body.replace("=\r\n", "");
            let mut bytes = Vec::new();
            let mut rest = joined.as_bytes();
            while let Some((&b, tail)) = rest.split_first() {
                if b == b'='
                    && tail.len() >= 2
                    && let Ok(v) =
                        u8::from_str_radix(std::str::from_utf8(&tail[..2]).unwrap_or("zz"), 16)
                {
                    bytes.push(v);
                    rest = &tail[2..];
                    continue;
                }
                bytes.push(b);
                rest = tail;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => body.to_string(),
    };
    format!("Subject: {}\n\n{text}", subject.trim())
}

fn webhook_request(
    conn: std::net::TcpStream,
    out: &Mutex<Vec<serde_json::Value>>,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut w = conn;
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if let Ok(v) = serde_json::from_slice(&body) {
        out.lock().unwrap().push(v);
    }
    w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
}

/// Saves the detection settings as the 安全管理员's form does: `fields` over quiet defaults
/// (probes every 5 minutes, tamper checks hourly, bans off, no channels).
pub async fn save_monitor_settings(p: &Platform, sec: &reqwest::Client, fields: &[(&str, &str)]) {
    let page = text_of(sec, p.url(ADMIN, "/monitor/settings")).await;
    let csrf = csrf_of(&page);
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf", csrf.as_str()),
        ("probe_interval_secs", "300"),
        ("probe_timeout_secs", "15"),
        ("down_after_failures", "2"),
        ("probe_via", ""),
        ("tamper_interval_secs", "3600"),
        ("link_interval_secs", "86400"),
        ("link_max_pages", "500"),
        ("log_retention_days", "180"),
        ("ban_threshold", "20"),
        ("ban_window_secs", "300"),
        ("ban_secs", "0"),
        ("smtp_port", "25"),
        ("smtp_security", "none"),
        ("block_secret", "on"),
    ];
    for (k, v) in fields {
        form.retain(|(name, _)| name != k);
        form.push((k, v));
    }
    let r = sec
        .post(p.url(ADMIN, "/monitor/settings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}
