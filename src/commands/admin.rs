//! `partseal admin`: the operator's commands on the verifier service's data directory: the parties
//! that record custody events, their API tokens, and the trust state (authority keys, certificates,
//! revocation list).
//!
//! The store is locked by whichever process has it open. When `partseal serve` holds it, a command
//! is handed to the service through its admin socket (`admin_socket`) and carried out there, on
//! the service's own registry: a revoked token stops working at once, without a restart. Otherwise
//! the command opens the store itself. Every argument and input file is checked before anything is
//! written, so a mistake writes nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use registry::{
    Create, Location, Party, PartyId, Registry, RegistryConfig, RegistryError, Role, StoreError,
    TokenRecord,
};
use serde_json::{Value, json};
use signer::{Certificate, KeyId, Timestamp, TrustStore};

use super::store_args::DataArgs;
use super::{admin_socket, files};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Parties: the manufacturers, distributors and shops that record custody events.
    #[command(subcommand)]
    Party(PartyCommand),
    /// API tokens of parties.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Trust an authority key and load certificates and a revocation list, each checked against it.
    Trust(TrustArgs),
    /// What the store holds: trust state, parties, tokens and sizes.
    Status(ListArgs),
}

#[derive(Subcommand)]
pub enum PartyCommand {
    /// Add a party. A manufacturer's id must be the manufacturer id of a trusted certificate.
    Add(PartyAddArgs),
    /// List the parties.
    List(ListArgs),
    /// Revoke a party: its tokens stop working; its history stays.
    Revoke(PartyRevokeArgs),
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a party and print it once on standard output.
    Create(TokenCreateArgs),
    /// List tokens (ids and dates; the store holds no secrets).
    List(TokenListArgs),
    /// Revoke a token by its id.
    Revoke(TokenRevokeArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct PartyAddArgs {
    #[command(flatten)]
    data: DataArgs,
    /// 1 to 64 ASCII letters, digits, '.', '_' or '-'.
    #[arg(long, value_name = "ID", value_parser = party_id)]
    id: PartyId,
    /// manufacturer, distributor or shop.
    #[arg(long, value_parser = role)]
    role: Role,
    /// Legal or trading name (any script).
    #[arg(long)]
    name: String,
    /// Coarse location shown in public custody summaries, e.g. Guangdong.
    #[arg(long)]
    region: Option<String>,
}

#[derive(Args)]
pub struct PartyRevokeArgs {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, value_name = "ID", value_parser = party_id)]
    id: PartyId,
}

#[derive(Args)]
pub struct TokenCreateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The party the token stands for.
    #[arg(long, value_name = "ID", value_parser = party_id)]
    party: PartyId,
    /// Days until the token expires; without it, it lasts until revoked.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    expires_days: Option<u32>,
}

#[derive(Args)]
pub struct TokenListArgs {
    #[command(flatten)]
    list: ListArgs,
    /// Only this party's tokens.
    #[arg(long, value_name = "ID", value_parser = party_id)]
    party: Option<PartyId>,
}

#[derive(Args)]
pub struct TokenRevokeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The token's id: 16 hex characters, as `token list` shows (in a token, the part after `pst_`).
    #[arg(long, value_name = "TOKEN_ID", value_parser = token_id)]
    id: String,
}

#[derive(Args)]
pub struct TrustArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The authority's public key (from `authority init`).
    #[arg(long, value_name = "FILE")]
    authority: PathBuf,
    /// A manufacturer certificate the authority issued; repeat for several.
    #[arg(long = "cert", value_name = "FILE")]
    certs: Vec<PathBuf>,
    /// The authority's revocation list; one older than the list in force is refused.
    #[arg(long, value_name = "FILE")]
    revoked: Option<PathBuf>,
}

fn party_id(s: &str) -> Result<PartyId, String> {
    PartyId::parse(s).map_err(|e| e.to_string())
}

fn role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("unknown role {s:?}: use manufacturer, distributor or shop"))
}

fn token_id(s: &str) -> Result<String, String> {
    if s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(s.to_owned());
    }
    Err(format!(
        "{:?} is not a token id: give the 16 lowercase hex characters `token list` shows \
         (never the whole token, which would land in shell history)",
        s.chars().take(20).collect::<String>()
    ))
}

/// Where a command writes: standard output (what scripts read: a token, JSON) and standard error
/// (the words about it).
pub struct Console<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl AdminCommand {
    fn store(&self) -> &DataArgs {
        match self {
            AdminCommand::Party(PartyCommand::Add(a)) => &a.data,
            AdminCommand::Party(PartyCommand::List(a)) | AdminCommand::Status(a) => &a.data,
            AdminCommand::Party(PartyCommand::Revoke(a)) => &a.data,
            AdminCommand::Token(TokenCommand::Create(a)) => &a.data,
            AdminCommand::Token(TokenCommand::List(a)) => &a.list.data,
            AdminCommand::Token(TokenCommand::Revoke(a)) => &a.data,
            AdminCommand::Trust(a) => &a.data,
        }
    }

    /// The data directory the command names (`None`: it names a database).
    pub(super) fn data_dir(&self) -> Option<&Path> {
        self.store().data.as_deref()
    }
}

/// Runs the command: through the running service's admin socket when `partseal serve` holds the
/// store, on the store directly otherwise.
pub fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    let location = cmd.store().location();
    if let Location::Directory(dir) = &location {
        if let Some(answer) = admin_socket::ask(dir, &admin_socket::argv_for_server()?)? {
            std::io::stdout().write_all(answer.out.as_bytes())?;
            std::io::stderr().write_all(answer.err.as_bytes())?;
            return Ok(if answer.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            });
        }
    }
    let registry = match &cmd {
        // Only `admin trust`, the first step on a new server, may create a store, and only once
        // its files checked out (`trust` reads them again: they are small).
        AdminCommand::Trust(args) => {
            files::trust_store(&args.authority, &args.certs, args.revoked.as_deref())?;
            open(&location, Create::IfMissing)?
        }
        _ => open(&location, Create::Never)?,
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    execute(
        &registry,
        cmd,
        &mut Console {
            out: &mut out,
            err: &mut err,
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Runs a command on an open registry: the command line's own, or the running service's.
pub fn execute(registry: &Registry, cmd: AdminCommand, c: &mut Console<'_>) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Party(PartyCommand::Add(args)) => party_add(registry, args, c),
        AdminCommand::Party(PartyCommand::List(args)) => party_list(registry, args, c),
        AdminCommand::Party(PartyCommand::Revoke(args)) => party_revoke(registry, args, c),
        AdminCommand::Token(TokenCommand::Create(args)) => token_create(registry, args, c),
        AdminCommand::Token(TokenCommand::List(args)) => token_list(registry, args, c),
        AdminCommand::Token(TokenCommand::Revoke(args)) => token_revoke(registry, args, c),
        AdminCommand::Trust(args) => trust(registry, args, c),
        AdminCommand::Status(args) => status(registry, args, c),
    }
}

/// Opens the store; only `admin trust`, the first step on a new server, may create one, so a
/// mistyped `--data` elsewhere is an error rather than a new empty registry.
fn open(location: &Location, create: Create) -> anyhow::Result<Registry> {
    Registry::open_at(location, create, RegistryConfig::default()).map_err(|e| match e {
        RegistryError::Store(StoreError::Missing(_)) => {
            let first = match location {
                Location::Directory(dir) => {
                    format!("`partseal admin trust --data {}`", dir.display())
                }
                Location::Database(_) => "`partseal admin trust` on this database".to_owned(),
            };
            anyhow::anyhow!("{location} holds no registry: start with {first}")
        }
        // A running service would have taken the command on its admin socket.
        RegistryError::Store(StoreError::Locked(_)) => anyhow::anyhow!(
            "the registry in {location} is locked by another process (a `partseal registry` \
             command, or a service that is starting or stopping); try again when it is done"
        ),
        e => anyhow::Error::from(e).context(format!("cannot open the registry in {location}")),
    })
}

fn existing_party(registry: &Registry, id: &PartyId, dir: &str) -> anyhow::Result<Party> {
    registry
        .party(id)?
        .with_context(|| format!("no party {id} in {} (see `partseal admin party list`)", dir))
}

fn party_add(registry: &Registry, args: PartyAddArgs, c: &mut Console<'_>) -> anyhow::Result<()> {
    let dir = args.data.describe();
    let now = Timestamp::now();
    let party = Party {
        id: args.id,
        role: args.role,
        name: args.name,
        region: args.region.filter(|r| !r.trim().is_empty()),
        created_at: now,
        revoked_at: None,
    };
    party
        .validate()
        .map_err(|why| anyhow::anyhow!("party {}: {why}", party.id))?;
    if registry.party(&party.id)?.is_some() {
        bail!(
            "party {} already exists in {}; choose another --id",
            party.id,
            dir
        );
    }
    if party.role == Role::Manufacturer {
        let trust = registry.trust();
        let certs: Vec<&Certificate> = certificates_of(&trust, &party.id).collect();
        if certs.is_empty() {
            bail!("{}", no_certificate_names(&trust, &party.id, &dir));
        }
        if !certs.iter().any(|c| cert_state(&trust, c, now) == "valid") {
            writeln!(
                c.err,
                "warning: no certificate of {} is valid now (expired, not yet valid or revoked); \
                 it cannot register new codes",
                party.id
            )?;
        }
    }
    registry.add_party(party.clone())?;
    writeln!(
        c.out,
        "added {} {} ({}{})",
        party.role.as_str(),
        party.id,
        party.name,
        party
            .region
            .as_deref()
            .map(|r| format!(", {r}"))
            .unwrap_or_default()
    )?;
    Ok(())
}

/// Why a manufacturer party cannot be added under `id`: the ids the trusted certificates do carry
/// (a certificate made without `authority certify --id` carries a generated one), or that none is
/// loaded yet.
fn no_certificate_names(trust: &TrustStore, id: &PartyId, dir: &str) -> String {
    let mut carried: Vec<String> = trust
        .certificates()
        .iter()
        .map(|c| format!("{} ({})", c.body().manufacturer_id, c.body().legal_name))
        .collect();
    carried.sort();
    carried.dedup();
    let load = format!(
        "load the certificate first with `partseal admin trust --data {dir} --authority FILE \
         --cert FILE`"
    );
    if carried.is_empty() {
        return format!(
            "no trusted certificate names manufacturer id {id} (none is loaded yet): a \
             manufacturer's party id is its certificate's manufacturer id; {load}"
        );
    }
    format!(
        "no trusted certificate names manufacturer id {id}; the trusted certificates carry {}. A \
         manufacturer's party id is its certificate's manufacturer id (the one `authority certify \
         --id` gave it, else a generated one): add the party under that id, or, if another \
         certificate names {id}, {load}",
        carried.join(", ")
    )
}

fn certificates_of<'a>(
    trust: &'a TrustStore,
    id: &'a PartyId,
) -> impl Iterator<Item = &'a Certificate> {
    trust
        .certificates()
        .iter()
        .filter(move |c| c.body().manufacturer_id == id.as_str())
}

fn party_json(p: &Party) -> Value {
    json!({
        "id": p.id.as_str(),
        "role": p.role.as_str(),
        "name": p.name,
        "region": p.region,
        "created_at": p.created_at.to_string(),
        "revoked_at": p.revoked_at.map(|t| t.to_string()),
    })
}

fn party_list(registry: &Registry, args: ListArgs, c: &mut Console<'_>) -> anyhow::Result<()> {
    let parties = registry.parties()?;
    print_list(c, args.json, &parties, party_json, "no parties", |p| {
        format!(
            "{:<24} {:<12} {} [{}] created {}{}",
            p.id.as_str(),
            p.role.as_str(),
            p.name,
            p.region.as_deref().unwrap_or("-"),
            p.created_at,
            p.revoked_at
                .map(|t| format!(", REVOKED {t}"))
                .unwrap_or_default()
        )
    })
}

/// A list on standard output: a JSON array with `--json`; else a line each, or `empty` for none.
fn print_list<T>(
    c: &mut Console<'_>,
    json: bool,
    items: &[T],
    as_json: impl Fn(&T) -> Value,
    empty: &str,
    as_line: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        let list: Vec<Value> = items.iter().map(as_json).collect();
        writeln!(c.out, "{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(());
    }
    if items.is_empty() {
        writeln!(c.out, "{empty}")?;
    }
    for item in items {
        writeln!(c.out, "{}", as_line(item))?;
    }
    Ok(())
}

fn party_revoke(
    registry: &Registry,
    args: PartyRevokeArgs,
    c: &mut Console<'_>,
) -> anyhow::Result<()> {
    let dir = args.data.describe();
    let before = existing_party(registry, &args.id, &dir)?;
    if let Some(at) = before.revoked_at {
        writeln!(c.out, "party {} was already revoked at {at}", args.id)?;
        return Ok(());
    }
    let party = registry.revoke_party(&args.id, Timestamp::now())?;
    let tokens = registry
        .tokens()?
        .into_iter()
        .filter(|t| t.party == party.id && t.revoked_at.is_none())
        .count();
    writeln!(
        c.out,
        "revoked party {}; its {tokens} token(s) no longer authenticate",
        party.id
    )?;
    Ok(())
}

fn token_create(
    registry: &Registry,
    args: TokenCreateArgs,
    c: &mut Console<'_>,
) -> anyhow::Result<()> {
    let dir = args.data.describe();
    let now = Timestamp::now();
    let expires_at = args.expires_days.map(|d| now.plus_days(i64::from(d)));
    let party = existing_party(registry, &args.party, &dir)?;
    if let Some(at) = party.revoked_at {
        bail!(
            "party {} was revoked at {at}; it gets no new tokens",
            party.id
        );
    }
    let issued = registry.issue_token(&party.id, expires_at, now)?;
    // The token itself goes to standard output only, so it can be piped into a secret store; the
    // words about it go to standard error.
    writeln!(
        c.err,
        "token {} for {} {} ({}); this is the only time it is shown: the store keeps only its hash",
        issued.record.id,
        party.role.as_str(),
        party.id,
        match expires_at {
            Some(t) => format!("expires {t}"),
            None => "no expiry; revoke it with `partseal admin token revoke`".into(),
        }
    )?;
    writeln!(c.out, "{}", issued.reveal())?;
    Ok(())
}

fn token_state(t: &TokenRecord, now: Timestamp) -> &'static str {
    if t.revoked_at.is_some_and(|r| r <= now) {
        "revoked"
    } else if t.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

fn token_list(registry: &Registry, args: TokenListArgs, c: &mut Console<'_>) -> anyhow::Result<()> {
    let dir = args.list.data.describe();
    if let Some(party) = &args.party {
        existing_party(registry, party, &dir)?;
    }
    let now = Timestamp::now();
    let tokens: Vec<TokenRecord> = registry
        .tokens()?
        .into_iter()
        .filter(|t| args.party.as_ref().is_none_or(|p| *p == t.party))
        .collect();
    // Only the fields below: the record's secret hash stays in the store.
    let as_json = |t: &TokenRecord| {
        json!({
            "id": t.id,
            "party": t.party.as_str(),
            "created_at": t.created_at.to_string(),
            "expires_at": t.expires_at.map(|x| x.to_string()),
            "revoked_at": t.revoked_at.map(|x| x.to_string()),
            "state": token_state(t, now),
        })
    };
    print_list(c, args.list.json, &tokens, as_json, "no tokens", |t| {
        format!(
            "{}  {:<24} {:<8} created {}  expires {}  revoked {}",
            t.id,
            t.party.as_str(),
            token_state(t, now),
            t.created_at,
            t.expires_at.map_or("never".into(), |x| x.to_string()),
            t.revoked_at.map_or("-".into(), |x| x.to_string()),
        )
    })
}

fn token_revoke(
    registry: &Registry,
    args: TokenRevokeArgs,
    c: &mut Console<'_>,
) -> anyhow::Result<()> {
    let dir = args.data.describe();
    let Some(before) = registry.tokens()?.into_iter().find(|t| t.id == args.id) else {
        bail!(
            "no token {} in {} (see `partseal admin token list`)",
            args.id,
            dir
        );
    };
    if let Some(at) = before.revoked_at {
        writeln!(c.out, "token {} was already revoked at {at}", args.id)?;
        return Ok(());
    }
    let token = registry.revoke_token(&args.id, Timestamp::now())?;
    writeln!(c.out, "revoked token {} of party {}", token.id, token.party)?;
    Ok(())
}

fn trust(registry: &Registry, args: TrustArgs, c: &mut Console<'_>) -> anyhow::Result<()> {
    // Every file is read and checked against the authority key before the store is opened.
    let offered = files::trust_store(&args.authority, &args.certs, args.revoked.as_deref())?;
    let now = Timestamp::now();
    // A stale list is refused before anything else is written, so the command is all or nothing.
    if let (Some(new), Some(current)) = (offered.revocations(), registry.trust().revocations()) {
        if new.sequence() < current.sequence() {
            bail!(
                "{} is revocation list #{}, older than #{} already in force in {}; \
                 get the authority's latest list",
                args.revoked.as_deref().unwrap_or(Path::new("-")).display(),
                new.sequence(),
                current.sequence(),
                args.data.describe()
            );
        }
    }
    for root in offered.roots() {
        registry.add_root(*root, now)?;
        writeln!(c.out, "trusted authority key {}", KeyId::of(root))?;
    }
    for cert in offered.certificates() {
        registry.add_certificate(cert.clone(), now)?;
        let b = cert.body();
        writeln!(
            c.out,
            "trusted certificate #{} for {} ({})",
            cert.serial(),
            b.manufacturer_id,
            b.legal_name
        )?;
        let state = cert_state(&registry.trust(), cert, now);
        if state != "valid" {
            writeln!(
                c.err,
                "warning: certificate #{} is {state}: {} cannot register new codes under it",
                cert.serial(),
                b.manufacturer_id
            )?;
        }
    }
    if let Some(list) = offered.revocations() {
        registry.set_revocations(list.clone(), now)?;
        writeln!(
            c.out,
            "revocation list #{} in force ({} revoked certificate(s))",
            list.sequence(),
            list.entries().len()
        )?;
    }
    Ok(())
}

/// `valid`, `expired`, `not yet valid`, or `revoked (reason)` for a certificate in `trust`.
fn cert_state(trust: &TrustStore, cert: &Certificate, now: Timestamp) -> String {
    if let Some(r) = trust.revocations().and_then(|l| l.revocation_of(cert, now)) {
        return format!("revoked ({}) from {}", r.reason, r.effective_at);
    }
    let b = cert.body();
    if now < b.not_before {
        "not yet valid".into()
    } else if now >= b.not_after {
        "expired".into()
    } else {
        "valid".into()
    }
}

fn status(registry: &Registry, args: ListArgs, c: &mut Console<'_>) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let trust = registry.trust().clone();
    let parties = registry.parties()?;
    let tokens = registry.tokens()?;
    let stats = registry.stats()?;

    let roots: Vec<String> = trust
        .roots()
        .iter()
        .map(|k| KeyId::of(k).to_string())
        .collect();
    let certs: Vec<Value> = trust
        .certificates()
        .iter()
        .map(|c| {
            let b = c.body();
            json!({
                "serial": c.serial(),
                "manufacturer_id": b.manufacturer_id,
                "legal_name": b.legal_name,
                "key_id": c.key_id().to_string(),
                "prefixes": b.prefixes.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                "not_before": b.not_before.to_string(),
                "not_after": b.not_after.to_string(),
                "state": cert_state(&trust, c, now),
                "has_party": parties.iter().any(|p| p.id.as_str() == b.manufacturer_id),
            })
        })
        .collect();
    let count_parties = |role: Role| {
        parties
            .iter()
            .filter(|p| p.role == role && p.revoked_at.is_none())
            .count()
    };
    let count_tokens = |state: &str| {
        tokens
            .iter()
            .filter(|t| token_state(t, now) == state)
            .count()
    };
    let value = json!({
        "roots": roots,
        "certificates": certs,
        "revocation_list": trust.revocations().map(|l| json!({
            "sequence": l.sequence(),
            "issued_at": l.issued_at().to_string(),
            "entries": l.entries().len(),
        })),
        "parties": {
            "manufacturer": count_parties(Role::Manufacturer),
            "distributor": count_parties(Role::Distributor),
            "shop": count_parties(Role::Shop),
            "revoked": parties.iter().filter(|p| p.revoked_at.is_some()).count(),
        },
        "tokens": {
            "active": count_tokens("active"),
            "expired": count_tokens("expired"),
            "revoked": count_tokens("revoked"),
        },
        "store": {
            "codes": stats.codes,
            "events": stats.events,
            "flagged": stats.alerts,
            "bytes_on_disk": stats.bytes_on_disk,
        },
    });
    if args.json {
        writeln!(c.out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }

    writeln!(c.out, "authority keys:   {}", list_or_none(&roots))?;
    writeln!(c.out, "certificates:     {}", certs.len())?;
    for cert in trust.certificates() {
        let b = cert.body();
        writeln!(
            c.out,
            "  #{} {} ({}) prefixes {} valid {} to {}: {}",
            cert.serial(),
            b.manufacturer_id,
            b.legal_name,
            b.prefixes
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(","),
            b.not_before,
            b.not_after,
            cert_state(&trust, cert, now)
        )?;
    }
    match trust.revocations() {
        Some(l) => writeln!(
            c.out,
            "revocation list:  #{} issued {} ({} entries)",
            l.sequence(),
            l.issued_at(),
            l.entries().len()
        )?,
        None => writeln!(c.out, "revocation list:  none")?,
    }
    writeln!(
        c.out,
        "parties:          {} manufacturer, {} distributor, {} shop; {} revoked",
        count_parties(Role::Manufacturer),
        count_parties(Role::Distributor),
        count_parties(Role::Shop),
        parties.iter().filter(|p| p.revoked_at.is_some()).count()
    )?;
    writeln!(
        c.out,
        "tokens:           {} active, {} expired, {} revoked",
        count_tokens("active"),
        count_tokens("expired"),
        count_tokens("revoked")
    )?;
    writeln!(c.out, "codes:            {}", stats.codes)?;
    writeln!(c.out, "events:           {}", stats.events)?;
    writeln!(c.out, "flagged codes:    {}", stats.alerts)?;
    writeln!(c.out, "bytes on disk:    {}", stats.bytes_on_disk)?;
    Ok(())
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
