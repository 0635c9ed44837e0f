//! Settings: command-line flags over `SITEGROUP_*` environment variables over the config file
//! (`sitegroup.toml`) over defaults. The file is converted once into [`FileConfig`]; unknown
//! keys are refused with a message naming the key.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

pub const DEFAULT_DATA_DIR: &str = "./sitegroup-data";
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_CMS_LISTEN: &str = "127.0.0.1:8081";
pub const DEFAULT_ADMIN_HOST: &str = "admin.localhost";

/// The config file, as written. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub http_listen: Option<String>,
    pub cms_listen: Option<String>,
    pub database_url: Option<String>,
    pub admin_hosts: Option<Vec<String>>,
    /// Networks (IPs or CIDR ranges) the admin UI is reachable from; leave out for anywhere.
    pub admin_networks: Option<Vec<String>>,
    /// Redirect plain-HTTP requests to the admin UI to HTTPS (needs an HTTPS listener).
    pub admin_https_only: Option<bool>,
    /// OWASP CRS release directory run for every site in addition to the built-in WAF rules.
    pub waf_crs: Option<PathBuf>,
    /// Listen address for Prometheus metrics.
    pub metrics_listen: Option<String>,
    /// HTTPS listen address (certificates by SNI; `tls_cert`/`tls_key` for other names).
    pub https_listen: Option<String>,
    /// Certificate chain (PEM) of the HTTPS listener.
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of the HTTPS listener.
    pub tls_key: Option<PathBuf>,
    /// Proxies in front of the gateway whose X-Forwarded-For is believed (IPs or CIDR ranges).
    pub trusted_proxies: Option<Vec<String>>,
    pub gateway: Option<GatewayFileConfig>,
    /// `[connections]`: request-head deadline, keep-alive, connections per address.
    pub connections: Option<ConnectionsFileConfig>,
    /// `[acme]`: the CA that issues certificates to sites that ask for them.
    pub acme: Option<AcmeFileConfig>,
    /// Redis shared by the gateways for rate-limit counts.
    pub redis_url: Option<String>,
}

/// `[acme]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeFileConfig {
    /// Directory URL of the ACME CA.
    pub directory: Option<String>,
    /// Account contacts (`mailto:` URLs).
    pub contact: Option<Vec<String>>,
    /// Extra root certificates (PEM) for the CA's own HTTPS.
    pub ca_roots: Option<PathBuf>,
}

/// `[connections]` in the config file: limits every gateway applies before a request reaches a
/// site.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsFileConfig {
    /// Seconds a client has to send a whole request head (slow-header defence). Default 10.
    pub header_timeout_secs: Option<u64>,
    /// Seconds an idle kept-alive connection stays open. Default 60.
    pub keepalive_secs: Option<u64>,
    /// Open connections per client address; 0 for no cap. Default 256.
    pub max_per_ip: Option<u32>,
}

/// `[gateway]` in the config file: an edge node's link to a remote control plane.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayFileConfig {
    pub control_plane: Option<String>,
    pub token_file: Option<PathBuf>,
    pub node_name: Option<String>,
}

impl FileConfig {
    /// The gateway's connection limits: the file's `[connections]` over the defaults.
    pub fn connection_settings(&self) -> sitegroup_gateway::conn::ConnectionSettings {
        let mut settings = sitegroup_gateway::conn::ConnectionSettings::default();
        if let Some(c) = &self.connections {
            if let Some(s) = c.header_timeout_secs {
                settings.header_deadline = std::time::Duration::from_secs(s);
            }
            if let Some(s) = c.keepalive_secs {
                settings.keepalive = std::time::Duration::from_secs(s);
            }
            if let Some(n) = c.max_per_ip {
                settings.max_per_ip = n;
            }
        }
        settings
    }

    /// Reads `explicit` (must exist), or `./sitegroup.toml` when present, or nothing.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from("sitegroup.toml");
                if !default.is_file() {
                    return Ok(FileConfig::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in config file {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<FileConfig> {
        let config: FileConfig = toml::from_str(text)?;
        if let Some(c) = &config.connections {
            if let Some(s) = c.header_timeout_secs {
                anyhow::ensure!(
                    (1..=300).contains(&s),
                    "connections.header_timeout_secs: {s} is outside 1–300"
                );
            }
            if let Some(s) = c.keepalive_secs {
                anyhow::ensure!(
                    (1..=3600).contains(&s),
                    "connections.keepalive_secs: {s} is outside 1–3600"
                );
            }
        }
        if let Some(hosts) = &config.admin_hosts {
            for h in hosts {
                sitegroup_contract::config::check_hostname(h)
                    .map_err(|why| anyhow::anyhow!("admin_hosts: {h:?}: {why}"))?;
            }
        }
        Ok(config)
    }
}

/// Reads the gateway token, creating it (random, mode 0600) when `create` and it is missing.
pub fn gateway_token(path: &Path, create: bool) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_string()),
        Ok(_) => anyhow::bail!("gateway token file {} is empty", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {}
        Err(e) => {
            return Err(e).with_context(|| format!("reading gateway token {}", path.display()));
        }
    }
    let token = crate::auth::random_token();
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    sitegroup_contract::store::write_atomic(dir, path, token.as_bytes())
        .with_context(|| format!("writing gateway token {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_unknown_keys() {
        let c = FileConfig::parse(
            "data_dir = \"/var/lib/sitegroup\"\nhttp_listen = \"0.0.0.0:80\"\n[gateway]\nnode_name = \"edge-1\"\n",
        )
        .unwrap();
        assert_eq!(c.data_dir.as_deref(), Some(Path::new("/var/lib/sitegroup")));
        assert_eq!(c.gateway.unwrap().node_name.as_deref(), Some("edge-1"));
        let err = FileConfig::parse("http_lisen = \"x\"").unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `http_lisen`"),
            "{err:#}"
        );
        let err = FileConfig::parse("admin_hosts = [\"Admin Host\"]").unwrap_err();
        assert!(format!("{err:#}").contains("admin_hosts"), "{err:#}");
    }

    /// The example configurations shipped in deploy/ stay valid.
    #[test]
    fn shipped_examples_parse() {
        let main = FileConfig::parse(include_str!("../../deploy/sitegroup.example.toml")).unwrap();
        assert_eq!(main.http_listen.as_deref(), Some("0.0.0.0:80"));
        let edge = FileConfig::parse(include_str!("../../deploy/gateway.example.toml")).unwrap();
        let gw = edge.gateway.unwrap();
        assert_eq!(gw.node_name.as_deref(), Some("edge-1"));
        assert!(gw.control_plane.is_some() && gw.token_file.is_some());
    }

    #[test]
    fn token_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets/gateway-token");
        let a = gateway_token(&path, true).unwrap();
        let b = gateway_token(&path, true).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(gateway_token(&dir.path().join("missing"), false).is_err());
    }
}
