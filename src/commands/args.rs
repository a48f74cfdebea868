//! The command line (API.md, Command line): clap subcommands; every flag also reads a
//! `GHARART_…` environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "gharart-id",
    version,
    about = "A self-hosted identity appliance: one binary, one SQLite file."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server.
    Serve(Box<ServeArgs>),
    /// Run the offline demo: a fresh database with a seeded campaign team, a built-in OAuth app,
    /// and a mailbox page; loopback only. Takes serve's flags.
    Demo(Box<ServeArgs>),
    /// Manage OAuth clients (for when registration is closed).
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Invite and manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// List, rotate and export the token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Explain a token: whether it is valid, and why not.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Copy the live database consistently (SQLite online backup), while the server runs.
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// Where to write the copy (must not exist yet).
        file: PathBuf,
    },
    /// Read the support reports that users sent.
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// See and retry the outbox: who was sent what, and what the relay answered.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Read the audit log: security events, oldest first (JSON lines with --json, for a SIEM).
    Audit {
        #[command(flatten)]
        db: DbArgs,
        /// Only events of the last this long (e.g. 24h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// Only events whose actor or target is this user.
        #[arg(long)]
        user: Option<String>,
        /// Only this event (e.g. login_failed).
        #[arg(long)]
        event: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// fsync on every commit: no acknowledged write is lost on power loss (the default).
    Full,
    /// WAL without fsync on commit: faster; a power cut may lose the last commits, never corrupts.
    Normal,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckpointsArg {
    /// The server checkpoints the WAL (PASSIVE, off the write path): safe beside Litestream.
    Auto,
    /// Never: leave it to the replicator (Litestream checkpoints every minute by default).
    Off,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum RequireMfaArg {
    /// Nobody: a second factor is each user's choice.
    None,
    /// `/admin` needs a session signed in with a second factor.
    Admin,
    /// As admin, and every session needs one to authorize an OAuth app or create a PAT.
    All,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The SQLite database file, created with the schema on first start [default: ./gharart.db;
    /// for demo, a fresh one in a temporary directory].
    #[arg(long, env = "GHARART_DB")]
    pub db: Option<PathBuf>,
    /// The key file holding the signing keys and token secrets [default: <db>.key].
    #[arg(long, env = "GHARART_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, env = "GHARART_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The public URL of this server: the `iss` of its tokens [default: http://<listen>].
    #[arg(long, env = "GHARART_ISSUER")]
    pub issuer: Option<String>,
    /// The `aud` of access tokens [default: the issuer].
    #[arg(long, env = "GHARART_AUDIENCE")]
    pub audience: Option<String>,
    /// Write each message as an .eml file here (besides the relay of --smtp-url, if any; with
    /// neither, mail goes to the log).
    #[arg(long, env = "GHARART_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,
    /// Deliver mail through this SMTP relay: smtp://[USER[:PASSWORD]@]HOST[:PORT] (plain, port
    /// 25), the same with ?tls=required (STARTTLS, port 587), or smtps://… (implicit TLS, 465).
    #[arg(long, env = "GHARART_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Read the relay password from this file (so it never shows in `ps`).
    #[arg(long, env = "GHARART_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<PathBuf>,
    /// Trust this PEM CA certificate for the relay, besides the system roots.
    #[arg(long, env = "GHARART_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of every message [default: gharart-id <no-reply@ISSUER-HOST>].
    #[arg(long, env = "GHARART_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Send at most N messages per WINDOW, spread evenly (e.g. 60/1m) [default: no limit].
    #[arg(long, env = "GHARART_SMTP_RATE")]
    pub smtp_rate: Option<String>,
    /// PBKDF2-HMAC-SHA256 iterations for new password hashes (older hashes upgrade at login).
    #[arg(long, env = "GHARART_PBKDF2_ITERATIONS", default_value_t = crate::core::password::DEFAULT_ITERATIONS)]
    pub pbkdf2_iterations: u32,
    /// SQLite's synchronous mode.
    #[arg(long, env = "GHARART_DURABILITY", value_enum, default_value = "full")]
    pub durability: DurabilityArg,
    /// Who checkpoints the WAL: auto (the server) or off (a replicator such as Litestream).
    #[arg(long, env = "GHARART_CHECKPOINTS", value_enum, default_value = "auto")]
    pub checkpoints: CheckpointsArg,
    /// Extra scopes beyond profile, email and offline_access (comma-separated, e.g. campaigns:read).
    #[arg(long, env = "GHARART_SCOPES", value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// A resource server tokens may be issued for (RFC 8707), besides this appliance itself:
    /// an absolute URI without fragment. Repeatable (GHARART_RESOURCES: comma-separated).
    #[arg(long = "resource", env = "GHARART_RESOURCES", value_delimiter = ',')]
    pub resources: Vec<String>,
    /// Access-token lifetime.
    #[arg(long, env = "GHARART_ACCESS_TTL", default_value = "15m")]
    pub access_ttl: String,
    /// A session ends after this long without a refresh.
    #[arg(long, env = "GHARART_REFRESH_IDLE_TTL", default_value = "30d")]
    pub refresh_idle_ttl: String,
    /// A session ends this long after sign-in, whatever its use.
    #[arg(long, env = "GHARART_REFRESH_ABSOLUTE_TTL", default_value = "90d")]
    pub refresh_absolute_ttl: String,
    /// An already-rotated refresh token still works this long (retries, concurrent tabs).
    #[arg(long, env = "GHARART_REFRESH_REUSE_INTERVAL", default_value = "10s")]
    pub refresh_reuse_interval: String,
    /// Lifetime of self-signup confirmation codes.
    #[arg(long, env = "GHARART_SIGNUP_CODE_TTL", default_value = "24h")]
    pub signup_code_ttl: String,
    /// Lifetime of operator invitation codes.
    #[arg(long, env = "GHARART_INVITE_CODE_TTL", default_value = "72h")]
    pub invite_code_ttl: String,
    /// Lifetime of password-reset codes.
    #[arg(long, env = "GHARART_RESET_CODE_TTL", default_value = "1h")]
    pub reset_code_ttl: String,
    /// Lifetime of OAuth authorization codes (at most 10m).
    #[arg(long, env = "GHARART_AUTH_CODE_TTL", default_value = "60s")]
    pub auth_code_ttl: String,
    /// Let anyone register OAuth clients (otherwise a signed-in user's access token is needed).
    #[arg(long, env = "GHARART_OPEN_REGISTRATION")]
    pub open_registration: bool,
    /// Requests handled at once (PBKDF2 work is capped to the cores within it); a request takes
    /// a place only once its head and body have arrived.
    #[arg(long, env = "GHARART_WORKERS", default_value_t = 32)]
    pub workers: usize,
    /// Connections held at once; past it a new connection gets 503 and is closed.
    #[arg(long, env = "GHARART_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Connections held at once from one client address (the peer's, even with --trust-proxy:
    /// raise it to --max-connections behind a reverse proxy on the same host).
    #[arg(long, env = "GHARART_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_connections_per_ip: usize,
    /// Per-route throttles and daily write limits (off: for local runs and tests).
    #[arg(long, env = "GHARART_THROTTLE", value_enum, default_value = "on")]
    pub throttle: Switch,
    /// Change one throttle, NAME=QUOTA/WINDOW (e.g. signup-ip=100/1h); repeatable or comma-separated.
    /// Names: login-ip, login-failures, signup-ip, confirm-ip, resend-email, resend-ip,
    /// forgot-email, forgot-ip, refresh-session, report-ip, token-client, register-user.
    #[arg(long, env = "GHARART_THROTTLE_LIMIT", value_delimiter = ',')]
    pub throttle_limit: Vec<String>,
    /// Writes per IP per UTC day on the write routes.
    #[arg(long, env = "GHARART_DAILY_IP_LIMIT", default_value_t = 1000)]
    pub daily_ip_limit: u32,
    /// Writes per account per UTC day on the write routes.
    #[arg(long, env = "GHARART_DAILY_ACCOUNT_LIMIT", default_value_t = 500)]
    pub daily_account_limit: u32,
    /// Take the client address from the last X-Forwarded-For entry (only behind a proxy you run).
    #[arg(long, env = "GHARART_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Days the record of recent requests is kept (for support reports).
    #[arg(long, env = "GHARART_REQUEST_LOG_DAYS", default_value_t = 7)]
    pub request_log_days: u32,
    /// Days audit log rows are kept.
    #[arg(long, env = "GHARART_AUDIT_DAYS", default_value_t = 365)]
    pub audit_days: u32,
    /// Whose sessions must have signed in with a second factor: none, admin (for /admin) or all.
    #[arg(
        long,
        env = "GHARART_REQUIRE_MFA_FOR",
        value_enum,
        default_value = "none"
    )]
    pub require_mfa_for: RequireMfaArg,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// The SQLite database file.
    #[arg(long, env = "GHARART_DB", default_value = "./gharart.db")]
    pub db: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum ReportsCommand {
    /// The newest support reports, one line each.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// How many to show.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One report in full, with the server's record of the request it names.
    Show {
        #[command(flatten)]
        db: DbArgs,
        /// The report id (rpt_…).
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClientsCommand {
    /// Register a client and print its client_id and, for a confidential one, its secret (once).
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// A name shown on the consent page.
        #[arg(long)]
        name: String,
        /// A redirect URI (repeatable): https, loopback http, or a private-use scheme.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A grant (repeatable): authorization_code, refresh_token, client_credentials.
        #[arg(long = "grant", default_values = ["authorization_code"])]
        grants: Vec<String>,
        /// client_secret_basic, client_secret_post, or none (a public client, such as a native app).
        #[arg(long, default_value = "client_secret_basic")]
        auth_method: String,
        /// The scopes the client may ask for, space-separated [default: every scope].
        #[arg(long)]
        scope: Option<String>,
        /// The server's extra scopes, as given to serve.
        #[arg(long, env = "GHARART_SCOPES", value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// List the registered clients.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Remove a client, with its grants, codes and consents.
    Remove {
        #[command(flatten)]
        db: DbArgs,
        /// The client_id.
        id: String,
    },
}

/// The database and its key file, for commands that need the secrets.
#[derive(Args, Debug, Clone)]
pub struct KeyedDbArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The key file [default: <db>.key].
    #[arg(long, env = "GHARART_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

impl KeyedDbArgs {
    pub fn key_path(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| {
            let mut p = self.db.db.clone().into_os_string();
            p.push(".key");
            PathBuf::from(p)
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Invite one user: an account without a password and an invitation code by mail.
    Add {
        #[command(flatten)]
        keyed: KeyedDbArgs,
        handle: String,
        email: String,
        /// The name shown in the account.
        #[arg(long)]
        display_name: Option<String>,
        /// How long the invitation code lives.
        #[arg(long, env = "GHARART_INVITE_CODE_TTL", default_value = "72h")]
        invite_code_ttl: String,
        /// Make the user an admin (the default role is member).
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's role: member (the default) or admin. Tokens issued from now on carry it.
    Role {
        #[command(flatten)]
        db: DbArgs,
        handle: String,
        /// member or admin.
        role: String,
    },
    /// Add a user to groups and remove them from others ([a-z0-9_-]{1,64} each). Tokens issued
    /// from now on carry the groups.
    Groups {
        #[command(flatten)]
        db: DbArgs,
        handle: String,
        /// A group to join (repeatable).
        #[arg(long)]
        add: Vec<String>,
        /// A group to leave (repeatable).
        #[arg(long)]
        remove: Vec<String>,
    },
    /// List users, with each one's onboarding state (invited, delivery_failed, code_expired,
    /// confirmed or disabled) and whether a second factor guards their sign-in (`mfa`).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Send a new confirmation code (with the invitation lifetime) to each named or matching
    /// unconfirmed account. Safe to run twice: --expired and --failed match only accounts still
    /// stuck and skip an address a resend queued mail for less than a minute ago; a named
    /// HANDLE always gets a new code.
    Resend {
        #[command(flatten)]
        keyed: KeyedDbArgs,
        /// The accounts, by handle.
        handles: Vec<String>,
        /// Every unconfirmed account whose code expired.
        #[arg(long)]
        expired: bool,
        /// Every unconfirmed account whose invitation could not be delivered.
        #[arg(long)]
        failed: bool,
        /// How long the new codes live.
        #[arg(long, env = "GHARART_INVITE_CODE_TTL", default_value = "72h")]
        invite_code_ttl: String,
    },
    /// Disable a user: no more sign-ins; every session and personal access token is revoked.
    Disable {
        #[command(flatten)]
        db: DbArgs,
        handle: String,
    },
    /// Enable a disabled user again: they sign in with their password (revoked sessions and
    /// tokens stay revoked).
    Enable {
        #[command(flatten)]
        db: DbArgs,
        handle: String,
    },
    /// Revoke every session of a user (API, browser and OAuth apps): they sign in again.
    RevokeSessions {
        #[command(flatten)]
        db: DbArgs,
        handle: String,
    },
    /// Remove a user's second factors (TOTP and recovery codes) and revoke their sessions: the
    /// way back for a teammate who lost the phone and the codes. The password still works.
    MfaReset {
        #[command(flatten)]
        db: DbArgs,
        handle: String,
    },
    /// Invite every `handle,email[,displayName[,groups]]` row of a CSV file (groups separated by
    /// `;`; a header row is skipped). Safe to run twice: existing users are reported, not invited
    /// again.
    Import {
        #[command(flatten)]
        keyed: KeyedDbArgs,
        file: PathBuf,
        /// Check and report every row without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// How long the invitation codes live (counted from --send-after, when given).
        #[arg(long, env = "GHARART_INVITE_CODE_TTL", default_value = "72h")]
        invite_code_ttl: String,
        /// Queue the invitations now but send them only from this time: RFC 3339
        /// (2026-12-24T06:00:00Z) or HH:MM in UTC (the next such time).
        #[arg(long)]
        send_after: Option<String>,
        /// Who invites, named in the messages (e.g. "Maya Chen, Growth").
        #[arg(long)]
        invited_by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// The outbox, newest first: id, recipient, purpose, state, attempts, last SMTP reply or
    /// error, created, sent.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Only messages in this state.
        #[arg(long, value_parser = ["pending", "sent", "failed", "expired"])]
        state: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Queue failed messages again; a running server sends them within a few seconds.
    Retry {
        #[command(flatten)]
        db: DbArgs,
        /// Message ids, as `mail list` shows them.
        ids: Vec<i64>,
        /// Every failed message.
        #[arg(long, conflicts_with = "ids")]
        failed: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// The signing keys and their state.
    List {
        #[command(flatten)]
        keyed: KeyedDbArgs,
    },
    /// Make a new key current. The old one keeps verifying the tokens it signed until they
    /// expire; keys superseded longer ago than --retire-after are retired. A running server
    /// picks the change up within 5 s.
    Rotate {
        #[command(flatten)]
        keyed: KeyedDbArgs,
        /// Retire keys superseded longer ago than this (keep it above the access-token lifetime).
        #[arg(long, default_value = "1d")]
        retire_after: String,
    },
    /// Print the HS256 verification keys (`kid` and base64url key, one per line) for resource
    /// servers that check the appliance's own tokens themselves; with --jwks, the public JWK Set
    /// of the RS256 and ES256 keys instead (what /oauth/jwks serves: no secret).
    Export {
        #[command(flatten)]
        keyed: KeyedDbArgs,
        /// The public keys as a JWK Set (RFC 7517).
        #[arg(long)]
        jwks: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Decode an access JWT, or find a refresh token or PAT, and say whether it is valid and why not.
    /// Exit 0 when valid, 1 when not.
    Inspect {
        #[command(flatten)]
        keyed: KeyedDbArgs,
        token: String,
        /// The server's idle session lifetime, as given to serve.
        #[arg(long, env = "GHARART_REFRESH_IDLE_TTL", default_value = "30d")]
        refresh_idle_ttl: String,
        /// The server's refresh reuse interval, as given to serve.
        #[arg(long, env = "GHARART_REFRESH_REUSE_INTERVAL", default_value = "10s")]
        refresh_reuse_interval: String,
    },
}
