//! The `sitegroup` command line. `main.rs` only calls [`main`].

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sitegroup_gateway::GatewayOptions;
use sitegroup_gateway::sync::ControlPlane;

use crate::server::{self, CmsOptions, CmsService};
use crate::settings::{self, FileConfig};
use crate::state::AdminRoute;

/// 网站群统一平台：统一管理、统一防护、统一检测。
/// One platform for an organisation's websites: one place to manage, one shield, one watchtower.
#[derive(Parser, Debug)]
#[command(name = "sitegroup", version)]
struct Cli {
    /// Config file (TOML). Default: ./sitegroup.toml when it exists.
    #[arg(long, env = "SITEGROUP_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run everything in one process: control plane (CMS) and gateway.
    Serve(ServeArgs),
    /// Run the control plane only (gateways run elsewhere with `sitegroup gateway`).
    Cms(ServeArgs),
    /// Run an edge gateway against a remote control plane.
    Gateway(GatewayArgs),
    /// Administration tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// WAF rule tools.
    #[command(subcommand)]
    Waf(WafCommand),
    /// Audit trail tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Full-text search tools.
    #[command(subcommand)]
    Search(SearchCommand),
}

#[derive(Subcommand, Debug)]
enum SearchCommand {
    /// Rebuild the search index from the database (the server does this by itself when the
    /// index is missing, damaged or out of step; run this with the server stopped).
    Rebuild {
        #[arg(long, env = "SITEGROUP_DATA_DIR")]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "SITEGROUP_DATABASE_URL")]
        database_url: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum WafCommand {
    /// Run go-ftw YAML regression tests against a rule set, in-process. Loads a CRS release
    /// layout (crs-setup.conf[.example] + rules/) or any directory of *.conf files, in
    /// DetectionOnly mode with CRS's test settings. The last line is `passed N of M`; the exit
    /// status is non-zero when a test fails that the overrides file does not list.
    Test {
        /// Rule directory.
        #[arg(long)]
        rules: PathBuf,
        /// Directory of go-ftw test files (searched recursively).
        #[arg(long)]
        tests: PathBuf,
        /// Known failures, one `NAME: reason` per line; every entry needs a reason.
        #[arg(long)]
        overrides: Option<PathBuf>,
        /// Run only the tests whose name starts with this (e.g. 942100 or 942100-3).
        #[arg(long)]
        only: Option<String>,
    },
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Data directory (database, published pages, logs, secrets). Default ./sitegroup-data.
    #[arg(long, env = "SITEGROUP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Gateway HTTP listen address. Default 127.0.0.1:8080.
    #[arg(long, env = "SITEGROUP_HTTP_LISTEN")]
    http_listen: Option<String>,
    /// Control-plane listen address (admin UI and the gateways' internal API). Default 127.0.0.1:8081.
    #[arg(long, env = "SITEGROUP_CMS_LISTEN")]
    cms_listen: Option<String>,
    /// Database URL. Default: SQLite in the data directory. PostgreSQL: postgres://user@host/db.
    #[arg(long, env = "SITEGROUP_DATABASE_URL")]
    database_url: Option<String>,
    /// OWASP CRS release directory (crs-setup.conf[.example] + rules/) to run for every site
    /// in blocking mode, in addition to the built-in rules.
    #[arg(long, env = "SITEGROUP_WAF_CRS")]
    waf_crs: Option<PathBuf>,
    /// Listen address for Prometheus metrics (`/metrics`), e.g. 127.0.0.1:9464. Off by default.
    #[arg(long, env = "SITEGROUP_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// HTTPS listen address (e.g. [::]:443). Certificates: uploaded ones and ACME by SNI,
    /// --tls-cert/--tls-key for other names, a development CA for *.localhost.
    #[arg(long, env = "SITEGROUP_HTTPS_LISTEN")]
    https_listen: Option<String>,
    /// Certificate chain (PEM) for the HTTPS listener.
    #[arg(long, env = "SITEGROUP_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for the HTTPS listener.
    #[arg(long, env = "SITEGROUP_TLS_KEY")]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    acme: AcmeArgs,
    /// Redis URL through which the group's gateways share rate-limit counts
    /// (redis://host:6379/). Off: each gateway counts alone.
    #[arg(long, env = "SITEGROUP_REDIS_URL")]
    redis_url: Option<String>,
}

#[derive(Args, Debug)]
struct GatewayArgs {
    /// Data directory of this gateway (last good configuration, page cache, logs).
    #[arg(long, env = "SITEGROUP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// HTTP listen address. Default 127.0.0.1:8080.
    #[arg(long, env = "SITEGROUP_HTTP_LISTEN")]
    http_listen: Option<String>,
    /// Control plane base URL, e.g. http://10.0.0.5:8081.
    #[arg(long, env = "SITEGROUP_CONTROL_PLANE")]
    control_plane: Option<String>,
    /// File holding the gateway token (the control plane's data-dir/secrets/gateway-token).
    #[arg(long, env = "SITEGROUP_GATEWAY_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Name of this node in logs. Default: gateway.
    #[arg(long, env = "SITEGROUP_NODE_NAME")]
    node_name: Option<String>,
    /// OWASP CRS release directory to run for every site, in addition to the built-in rules.
    #[arg(long, env = "SITEGROUP_WAF_CRS")]
    waf_crs: Option<PathBuf>,
    /// Listen address for Prometheus metrics (`/metrics`). Off by default.
    #[arg(long, env = "SITEGROUP_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// HTTPS listen address (e.g. [::]:443). Certificates: uploaded ones and ACME by SNI,
    /// --tls-cert/--tls-key for other names, a development CA for *.localhost.
    #[arg(long, env = "SITEGROUP_HTTPS_LISTEN")]
    https_listen: Option<String>,
    /// Certificate chain (PEM) for the HTTPS listener.
    #[arg(long, env = "SITEGROUP_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for the HTTPS listener.
    #[arg(long, env = "SITEGROUP_TLS_KEY")]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    acme: AcmeArgs,
    /// Redis URL through which the group's gateways share rate-limit counts
    /// (redis://host:6379/). Off: each gateway counts alone.
    #[arg(long, env = "SITEGROUP_REDIS_URL")]
    redis_url: Option<String>,
    /// No access log (only to measure what logging costs; the access log is required by the
    /// rules sites live under).
    #[arg(long, hide = true)]
    no_access_log: bool,
}

/// The ACME CA for sites that want automatic certificates.
#[derive(Args, Debug)]
struct AcmeArgs {
    /// ACME directory URL (e.g. https://acme-v02.api.letsencrypt.org/directory). Off when unset.
    #[arg(long, env = "SITEGROUP_ACME_DIRECTORY")]
    acme_directory: Option<String>,
    /// Contact for the ACME account (mailto:…); may be repeated.
    #[arg(long)]
    acme_contact: Vec<String>,
    /// Extra root certificates (PEM) to trust for the ACME CA's HTTPS (a private CA).
    #[arg(long, env = "SITEGROUP_ACME_CA_ROOTS")]
    acme_ca_roots: Option<PathBuf>,
}

/// Where the control plane's data is (for the administration commands).
#[derive(Args, Debug)]
struct DbArgs {
    /// Data directory (database, keyring). Default ./sitegroup-data.
    #[arg(long, env = "SITEGROUP_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL. Default: SQLite in the data directory.
    #[arg(long, env = "SITEGROUP_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check the audit trail: every record's MAC and its link to the one before, gaps, and the
    /// head. With --archive, check a signed archive or export file instead. Exits non-zero when
    /// anything is wrong.
    Verify {
        /// A signed JSON lines file (archive or export) to check.
        #[arg(long)]
        archive: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Archive records older than the retention (signed JSON lines), then remove them from the
    /// database. The server does this by itself once a day.
    Archive {
        /// Days to keep (at least 180). Default: the security policy's retention.
        #[arg(long)]
        older_than_days: Option<i64>,
        /// Directory for the archive. Default: <data dir>/audit-archive.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create a platform administrator (三员: sysadmin 系统管理员, secadmin 安全管理员, auditor
    /// 审计管理员). Platform administrators are created only here, on the server.
    CreateAdmin {
        /// sysadmin, secadmin or auditor.
        #[arg(long)]
        role: String,
        username: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove a user's authenticator (a lost phone); they enrol again at their next sign-in.
    ResetTwoFactor {
        username: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Add a new key to the keyring and re-encrypt every stored secret with it.
    RotateKey {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Give a user a new one-time password (printed once) and end their sessions.
    ResetPassword {
        username: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Re-render and publish sites (every site, or the one whose code is given). The gateways
    /// pick the new pages up with the next configuration generation.
    Publish {
        /// Site code (e.g. `portal`); all sites when omitted.
        #[arg(long)]
        site: Option<String>,
        #[arg(long, env = "SITEGROUP_DATA_DIR")]
        data_dir: Option<PathBuf>,
        #[arg(long, env = "SITEGROUP_DATABASE_URL")]
        database_url: Option<String>,
    },
}

/// Entry point of the `sitegroup` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误 error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SITEGROUP_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
                "info,pingora_core=warn,pingora_proxy=warn,sqlx=warn",
            )
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let file = FileConfig::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => serve(file, args, true),
        Command::Cms(args) => serve(file, args, false),
        Command::Gateway(args) => gateway(file, args),
        Command::Admin(AdminCommand::ResetPassword { username, db }) => {
            with_db(file, db, async |db, keyring, _| {
                let password = crate::auth::reset_password(db, keyring, &username).await?;
                println!(
                    "用户 {username} 的一次性密码 one-time password: {password}\n（首次登录后须修改 / must be changed at next login）"
                );
                Ok(())
            })
        }
        Command::Admin(AdminCommand::Publish {
            site,
            data_dir,
            database_url,
        }) => publish_sites(file, site.as_deref(), data_dir, database_url),
        Command::Admin(AdminCommand::CreateAdmin {
            role,
            username,
            name,
            db,
        }) => with_db(file, db, async |db, keyring, _| {
            let password =
                crate::service::users::create_platform_admin(db, keyring, &role, &username, &name)
                    .await?;
            println!(
                "已创建平台管理员 {username}（{role}） Platform administrator created\n一次性密码 one-time password: {password}\n（首次登录须修改密码并绑定动态口令 / change it and enrol an authenticator at first sign-in）"
            );
            Ok(())
        }),
        Command::Admin(AdminCommand::ResetTwoFactor { username, db }) => {
            with_db(file, db, async |db, keyring, _| {
                crate::auth::mfa::reset(db, keyring, &username).await?;
                println!(
                    "已重置 {username} 的动态口令，其会话均已结束 / authenticator removed, sessions ended"
                );
                Ok(())
            })
        }
        Command::Admin(AdminCommand::RotateKey { db }) => {
            with_db(file, db, async |db, _, data_dir| {
                let (id, n) = crate::secrets::rotate(db, data_dir).await?;
                println!("密钥已轮换 key rotated: now key {id}; {n} stored secrets re-encrypted");
                Ok(())
            })
        }
        Command::Audit(AuditCommand::Verify { archive, db }) => {
            with_db(file, db, async |db, keyring, _| {
                let report = match &archive {
                    Some(path) => {
                        let bytes = std::fs::read(path)
                            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                        crate::audit::verify_signed(keyring, &bytes)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                    }
                    None => crate::audit::verify(db, keyring).await?,
                };
                for p in &report.problems {
                    println!("问题 problem: {p}");
                }
                anyhow::ensure!(
                    report.ok(),
                    "audit trail verification FAILED: {} problem(s) in {} record(s)",
                    report.problems.len(),
                    report.checked
                );
                println!(
                    "审计链完整 audit trail OK: {} records ({}–{})",
                    report.checked, report.first_seq, report.last_seq
                );
                Ok(())
            })
        }
        Command::Audit(AuditCommand::Archive {
            older_than_days,
            out,
            db,
        }) => with_db(file, db, async |db, keyring, data_dir| {
            let days = match older_than_days {
                Some(d) => d,
                None => i64::from(crate::auth::policy::load(db).await?.audit_retention_days),
            };
            let dir = out.unwrap_or_else(|| data_dir.join("audit-archive"));
            match crate::audit::archive(db, keyring, &crate::audit::Who::console(), days, &dir)
                .await?
            {
                Some((path, n)) => println!("已归档 archived {n} records to {}", path.display()),
                None => println!("没有超过 {days} 天的记录 nothing older than {days} days"),
            }
            Ok(())
        }),
        Command::Search(SearchCommand::Rebuild {
            data_dir,
            database_url,
        }) => search_rebuild(file, data_dir, database_url),
        Command::Waf(WafCommand::Test {
            rules,
            tests,
            overrides,
            only,
        }) => waf_test(&rules, &tests, overrides.as_deref(), only.as_deref()),
    }
}

fn waf_test(
    rules: &Path,
    tests: &Path,
    overrides: Option<&Path>,
    only: Option<&str>,
) -> anyhow::Result<()> {
    use sitegroup_waf::ftw;
    let overrides = match overrides {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            ftw::Overrides::parse(&text, &p.display().to_string()).map_err(anyhow::Error::msg)?
        }
        None => ftw::Overrides::default(),
    };
    let started = std::time::Instant::now();
    let engine = ftw::load_rules(rules, ftw::CRS_TEST_SETUP)
        .map_err(|e| anyhow::anyhow!("rule set not loaded: {e}"))?;
    let loaded = started.elapsed();
    let mut stages = ftw::load_tests(tests).map_err(anyhow::Error::msg)?;
    if let Some(prefix) = only {
        stages.retain(|s| s.name.starts_with(prefix));
    }
    println!(
        "loaded {} rules from {} in {} ms; running {} test stages",
        engine.rules().rule_count(),
        rules.display(),
        loaded.as_millis(),
        stages.len()
    );
    let report = ftw::run(&engine, &stages, &overrides);
    for (outcome, reason) in &report.known {
        println!(
            "KNOWN {}: {} [override: {reason}]",
            outcome.name, outcome.reason
        );
    }
    for outcome in &report.failures {
        println!("FAIL {}: {}", outcome.name, outcome.reason);
    }
    println!(
        "{} failed, {} known failures, in {:.1} s",
        report.failures.len(),
        report.known.len(),
        started.elapsed().as_secs_f64()
    );
    println!("passed {} of {}", report.passed, report.total);
    if report.failures.is_empty() {
        Ok(())
    } else {
        // The summary line above must stay the last line: exit without another message.
        std::process::exit(1);
    }
}

/// The WAF rule set: the built-in pack, with CRS in front of it when a directory is given.
fn load_waf(crs: Option<&Path>) -> anyhow::Result<sitegroup_waf::Engine> {
    match crs {
        None => Ok(sitegroup_waf::Engine::builtin()),
        Some(dir) => {
            let started = std::time::Instant::now();
            let engine = sitegroup_waf::ftw::load_crs_with_builtin(dir)
                .map_err(|e| anyhow::anyhow!("WAF rules in {} not loaded: {e}", dir.display()))?;
            tracing::info!(
                "WAF: {} rules from {} and the built-in pack loaded in {} ms",
                engine.rules().rule_count(),
                dir.display(),
                started.elapsed().as_millis()
            );
            Ok(engine)
        }
    }
}

fn data_dir(flag: Option<PathBuf>, file: &FileConfig) -> anyhow::Result<PathBuf> {
    let dir = flag
        .or_else(|| file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(settings::DEFAULT_DATA_DIR));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    Ok(dir)
}

fn database_url(flag: Option<String>, file: &FileConfig, data_dir: &Path) -> String {
    flag.or_else(|| file.database_url.clone())
        .unwrap_or_else(|| crate::db::sqlite_url(data_dir))
}

fn bind(addr: &str, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr} ({what})"))
}

/// The HTTPS listener from flags or the config file: an address and, optionally, a certificate
/// chain and key (readable PEM files, checked here) for names no other certificate covers.
fn tls_listen(
    addr: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    file: &FileConfig,
) -> anyhow::Result<Vec<sitegroup_gateway::TlsListen>> {
    let addr = addr.or_else(|| file.https_listen.clone());
    let cert = cert.or_else(|| file.tls_cert.clone());
    let key = key.or_else(|| file.tls_key.clone());
    let Some(addr) = addr else {
        anyhow::ensure!(
            cert.is_none() && key.is_none(),
            "tls_cert/tls_key given without https_listen"
        );
        return Ok(Vec::new());
    };
    let cert = match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            // A bad file is an error now, not a panic inside the listener later.
            sitegroup_gateway::tls::load_files(&cert, &key)?;
            Some((cert, key))
        }
        _ => anyhow::bail!("tls_cert and tls_key go together (PEM files)"),
    };
    Ok(vec![sitegroup_gateway::TlsListen { addr, cert }])
}

/// The ACME CA from flags or the config file's `[acme]`, when a directory is given.
fn acme_settings(
    args: &AcmeArgs,
    file: &FileConfig,
) -> anyhow::Result<Option<sitegroup_gateway::tls::acme::AcmeSettings>> {
    let file_acme = file.acme.as_ref();
    let Some(directory) = args
        .acme_directory
        .clone()
        .or_else(|| file_acme.and_then(|a| a.directory.clone()))
    else {
        return Ok(None);
    };
    anyhow::ensure!(
        directory.starts_with("https://"),
        "acme directory {directory:?} must be an https:// URL"
    );
    let contacts: Vec<String> = if args.acme_contact.is_empty() {
        file_acme
            .and_then(|a| a.contact.clone())
            .unwrap_or_default()
    } else {
        args.acme_contact.clone()
    };
    for c in &contacts {
        anyhow::ensure!(
            c.starts_with("mailto:"),
            "acme contact {c:?} must be a mailto: URL"
        );
    }
    let ca_roots = args
        .acme_ca_roots
        .clone()
        .or_else(|| file_acme.and_then(|a| a.ca_roots.clone()));
    if let Some(path) = &ca_roots {
        std::fs::metadata(path)
            .map_err(|e| anyhow::anyhow!("acme ca_roots {}: {e}", path.display()))?;
    }
    Ok(Some(sitegroup_gateway::tls::acme::AcmeSettings {
        directory,
        contacts,
        ca_roots,
    }))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// `serve` (with_gateway) and `cms`.
fn serve(file: FileConfig, args: ServeArgs, with_gateway: bool) -> anyhow::Result<()> {
    let data_dir = data_dir(args.data_dir, &file)?;
    let http_listen = args
        .http_listen
        .or_else(|| file.http_listen.clone())
        .unwrap_or_else(|| settings::DEFAULT_HTTP_LISTEN.into());
    let cms_listen = args
        .cms_listen
        .or_else(|| file.cms_listen.clone())
        .unwrap_or_else(|| settings::DEFAULT_CMS_LISTEN.into());
    let token_path = data_dir.join("secrets").join("gateway-token");
    let token = settings::gateway_token(&token_path, true)?;

    // Rules first: a rule file with an error stops the start with file, line and reason.
    let waf = load_waf(args.waf_crs.or_else(|| file.waf_crs.clone()).as_deref())?;
    // Bind first: a port conflict is an error message, not a half-started server.
    let cms_listener = bind(&cms_listen, "control plane")?;
    let cms_addr = cms_listener.local_addr()?;
    let metrics_listen = args.metrics_listen.or_else(|| file.metrics_listen.clone());
    let tls = tls_listen(args.https_listen, args.tls_cert, args.tls_key, &file)?;
    if with_gateway {
        for t in &tls {
            drop(bind(&t.addr, "HTTPS")?);
        }
        drop(bind(&http_listen, "gateway")?);
        if let Some(m) = &metrics_listen {
            drop(bind(m, "metrics")?);
        }
    }

    let opts = CmsOptions {
        database_url: database_url(args.database_url, &file, &data_dir),
        data_dir: data_dir.clone(),
        gateway_token: token.clone(),
        admin: AdminRoute {
            hosts: file
                .admin_hosts
                .clone()
                .unwrap_or_else(|| vec![settings::DEFAULT_ADMIN_HOST.into()]),
            upstream: cms_addr.to_string(),
            networks: file.admin_networks.clone().unwrap_or_default(),
            https_only: file.admin_https_only.unwrap_or(false),
        },
        probe_via: if with_gateway {
            probe_address(&http_listen)
        } else {
            String::new()
        },
    };
    let banner = runtime()?.block_on(server::prepare(&opts))?;

    let mut pingora = sitegroup_gateway::new_server()?;
    let admin_hosts = opts.admin.hosts.clone();
    pingora.add_service(pingora::services::background::background_service(
        "control plane",
        CmsService::new(opts, cms_listener),
    ));
    if with_gateway {
        sitegroup_gateway::add_gateway(
            &mut pingora,
            &GatewayOptions {
                http_listen: vec![http_listen.clone()],
                https_listen: tls,
                acme: acme_settings(&args.acme, &file)?,
                redis_url: args.redis_url.clone().or_else(|| file.redis_url.clone()),
                data_dir: data_dir.clone(),
                store_dir: data_dir.join("store"),
                control_plane: ControlPlane {
                    url: format!("http://{cms_addr}"),
                    token,
                },
                poll_interval: Duration::from_secs(1),
                node: "local".into(),
                waf,
                metrics_listen,
                trusted_proxies: file.trusted_proxies.clone().unwrap_or_default(),
                connections: file.connection_settings(),
                access_log: true,
            },
        )?;
    }
    print_banner(
        &banner,
        with_gateway.then_some(http_listen.as_str()),
        &admin_hosts,
        &cms_addr.to_string(),
        &token_path,
    );
    sitegroup_gateway::run(pingora);
    println!("sitegroup 已停止 stopped");
    Ok(())
}

/// The URL detection probes this process's gateway at: its plain-HTTP listener, a wildcard
/// address replaced by loopback.
fn probe_address(listen: &str) -> String {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_unspecified() => {
            let ip: std::net::IpAddr = if a.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            format!("http://{}", std::net::SocketAddr::new(ip, a.port()))
        }
        _ => format!("http://{listen}"),
    }
}

fn print_banner(
    banner: &server::Banner,
    http_listen: Option<&str>,
    admin_hosts: &[String],
    cms_addr: &str,
    token_path: &Path,
) {
    let mut out = String::new();
    out.push_str("\nsitegroup 网站群统一平台已启动 / is running\n");
    match http_listen {
        Some(listen) => {
            let port = listen.rsplit_once(':').map(|(_, p)| p).unwrap_or("80");
            let suffix = if port == "80" {
                String::new()
            } else {
                format!(":{port}")
            };
            for (name, hosts) in &banner.sites {
                if let Some(host) = hosts.first() {
                    out.push_str(&format!("  {name}: http://{host}{suffix}/\n"));
                }
            }
            if let Some(admin) = admin_hosts.first() {
                out.push_str(&format!("  管理后台 Admin: http://{admin}{suffix}/\n"));
            }
        }
        None => {
            out.push_str(&format!("  控制面 Control plane: http://{cms_addr}/\n"));
            out.push_str(&format!(
                "  网关令牌 Gateway token file: {}\n",
                token_path.display()
            ));
        }
    }
    if !banner.first_admins.is_empty() {
        out.push_str("\n首次启动：已创建三个平台管理员账号（三员分立） First start: platform administrator accounts created\n");
        for (label, user, password) in &banner.first_admins {
            out.push_str(&format!(
                "  {label} 用户名 username: {user}  一次性密码 one-time password: {password}\n"
            ));
        }
        out.push_str("  （只显示这一次；首次登录须修改密码并绑定动态口令 / shown once; at first sign-in change the password and enrol an authenticator）\n");
    }
    println!("{out}");
}

fn gateway(file: FileConfig, args: GatewayArgs) -> anyhow::Result<()> {
    let data_dir = data_dir(args.data_dir, &file)?;
    let gw_file = file.gateway.as_ref();
    let http_listen = args
        .http_listen
        .or_else(|| file.http_listen.clone())
        .unwrap_or_else(|| settings::DEFAULT_HTTP_LISTEN.into());
    let control_plane = args
        .control_plane
        .or_else(|| gw_file.and_then(|g| g.control_plane.clone()))
        .context("--control-plane (or [gateway] control_plane) is required")?;
    let token_file = args
        .token_file
        .or_else(|| gw_file.and_then(|g| g.token_file.clone()))
        .context("--token-file (or [gateway] token_file) is required")?;
    let token = settings::gateway_token(&token_file, false)?;
    let node = args
        .node_name
        .or_else(|| gw_file.and_then(|g| g.node_name.clone()))
        .unwrap_or_else(|| "gateway".into());
    let waf = load_waf(args.waf_crs.or_else(|| file.waf_crs.clone()).as_deref())?;
    let metrics_listen = args.metrics_listen.or_else(|| file.metrics_listen.clone());
    let tls = tls_listen(args.https_listen, args.tls_cert, args.tls_key, &file)?;
    for t in &tls {
        drop(bind(&t.addr, "HTTPS")?);
    }
    drop(bind(&http_listen, "gateway")?);
    if let Some(m) = &metrics_listen {
        drop(bind(m, "metrics")?);
    }
    let mut pingora = sitegroup_gateway::new_server()?;
    sitegroup_gateway::add_gateway(
        &mut pingora,
        &GatewayOptions {
            http_listen: vec![http_listen.clone()],
            https_listen: tls,
            acme: acme_settings(&args.acme, &file)?,
            redis_url: args.redis_url.clone().or_else(|| file.redis_url.clone()),
            data_dir: data_dir.clone(),
            store_dir: data_dir.join("store"),
            control_plane: ControlPlane {
                url: control_plane.clone(),
                token,
            },
            poll_interval: Duration::from_secs(1),
            node,
            waf,
            metrics_listen,
            trusted_proxies: file.trusted_proxies.clone().unwrap_or_default(),
            connections: file.connection_settings(),
            access_log: !args.no_access_log,
        },
    )?;
    println!(
        "sitegroup 网关已启动 gateway is running on http://{http_listen}/ (control plane {control_plane})"
    );
    sitegroup_gateway::run(pingora);
    println!("sitegroup 网关已停止 gateway stopped");
    Ok(())
}

fn publish_sites(
    file: FileConfig,
    code: Option<&str>,
    data_dir_flag: Option<PathBuf>,
    database_url_flag: Option<String>,
) -> anyhow::Result<()> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let data_dir = data_dir(data_dir_flag, &file)?;
    let opts = CmsOptions {
        database_url: database_url(database_url_flag, &file, &data_dir),
        data_dir: data_dir.clone(),
        // Publishing needs neither the gateway token nor the admin route.
        gateway_token: String::new(),
        admin: AdminRoute {
            hosts: file
                .admin_hosts
                .clone()
                .unwrap_or_else(|| vec![settings::DEFAULT_ADMIN_HOST.into()]),
            upstream: String::new(),
            networks: Vec::new(),
            https_only: false,
        },
        probe_via: String::new(),
    };
    runtime()?.block_on(async {
        let db = crate::db::connect(&opts.database_url).await?;
        let state = server::build_state(&opts, db.clone()).await?;
        let mut q = crate::db::entities::site::Entity::find()
            .order_by_asc(crate::db::entities::site::Column::Id);
        if let Some(c) = code {
            q = q.filter(crate::db::entities::site::Column::Code.eq(c));
        }
        let sites = q.all(&db).await?;
        if sites.is_empty() {
            anyhow::bail!("no site with code {:?}", code.unwrap_or(""));
        }
        for s in sites {
            let started = std::time::Instant::now();
            let report = crate::publish::publish_site(&state, s.id)
                .await
                .map_err(|e| anyhow::anyhow!("publishing {}: {e}", s.code))?;
            println!(
                "{}（{}）: {} 个文件 files, {:.2} s",
                s.name,
                s.code,
                report.pages,
                started.elapsed().as_secs_f64()
            );
        }
        state.search.close().await;
        db.close().await?;
        Ok(())
    })
}

fn search_rebuild(
    file: FileConfig,
    data_dir_flag: Option<PathBuf>,
    database_url_flag: Option<String>,
) -> anyhow::Result<()> {
    let data_dir = data_dir(data_dir_flag, &file)?;
    let url = database_url(database_url_flag, &file, &data_dir);
    runtime()?.block_on(async {
        let db = crate::db::connect(&url).await?;
        let started = std::time::Instant::now();
        let search = crate::search::SearchService::open(&data_dir, db.clone(), true);
        if let Some(reason) = search.unavailable() {
            anyhow::bail!("cannot rebuild the search index: {reason}");
        }
        search.settled().await;
        if search.failures() > 0 {
            search.close().await;
            anyhow::bail!("rebuilding the search index failed (see the log above)");
        }
        let items = search.staff_count()?;
        search.close().await;
        db.close().await?;
        println!(
            "搜索索引已重建 search index rebuilt: {items} 篇稿件 items, {:.2} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    })
}

/// Runs an administration task against the database and keyring of a data directory.
fn with_db(
    file: FileConfig,
    args: DbArgs,
    task: impl AsyncFnOnce(
        &sea_orm::DatabaseConnection,
        &crate::secrets::Keyring,
        &Path,
    ) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let data_dir = data_dir(args.data_dir, &file)?;
    let url = database_url(args.database_url, &file, &data_dir);
    runtime()?.block_on(async {
        let db = crate::db::connect(&url).await?;
        let keyring =
            crate::secrets::Keyring::load_or_create(&crate::secrets::Keyring::path_in(&data_dir))?;
        let result = task(&db, &keyring, &data_dir).await;
        db.close().await?;
        result
    })
}
