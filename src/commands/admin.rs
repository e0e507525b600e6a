//! `partseal admin`: the operator's commands on the verifier service's data directory: the parties
//! that record custody events, their API tokens, and the trust state (authority keys, certificates,
//! revocation list).
//!
//! The store is locked by whichever process has it open, so these run while `partseal serve` is
//! stopped. Every argument and input file is checked before the store is opened, so a mistake
//! writes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use registry::{
    Party, PartyId, Registry, RegistryConfig, RegistryError, Role, StoreError, TokenRecord,
};
use serde_json::{Value, json};
use signer::{Certificate, KeyId, Timestamp, TrustStore};

use super::files;

/// Said wherever the store may be locked: in help text, and in the error when it is.
const STOPPED: &str = "run it while `partseal serve` is stopped";

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
pub struct DataArgs {
    /// The server's data directory (`partseal serve --data`); run while the server is stopped.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
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

pub fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::Party(PartyCommand::Add(args)) => party_add(args),
        AdminCommand::Party(PartyCommand::List(args)) => party_list(args),
        AdminCommand::Party(PartyCommand::Revoke(args)) => party_revoke(args),
        AdminCommand::Token(TokenCommand::Create(args)) => token_create(args),
        AdminCommand::Token(TokenCommand::List(args)) => token_list(args),
        AdminCommand::Token(TokenCommand::Revoke(args)) => token_revoke(args),
        AdminCommand::Trust(args) => trust(args),
        AdminCommand::Status(args) => status(args),
    }
}

/// Opens the store; only `admin trust`, the first step on a new server, may create one, so a
/// mistyped `--data` elsewhere is an error rather than a new empty registry.
fn open(dir: &Path, create: bool) -> anyhow::Result<Registry> {
    if !create && !dir.join("db").exists() {
        bail!(
            "{} holds no registry: start with `partseal admin trust --data {}`",
            dir.display(),
            dir.display()
        );
    }
    Registry::open(dir, RegistryConfig::default()).map_err(|e| {
        if is_locked(&e) {
            anyhow::anyhow!(
                "the registry in {} is locked by another process, most likely `partseal serve`: \
                 admin commands change the store directly, so {STOPPED}",
                dir.display()
            )
        } else {
            anyhow::Error::from(e).context(format!("cannot open the registry in {}", dir.display()))
        }
    })
}

/// sled reports a held lock only as an I/O error with this text (sled 0.34 `Config::try_lock`).
fn is_locked(e: &RegistryError) -> bool {
    matches!(e, RegistryError::Store(StoreError::Io(io)) if io.to_string().contains("could not acquire lock"))
}

fn existing_party(registry: &Registry, id: &PartyId, dir: &Path) -> anyhow::Result<Party> {
    registry.party(id)?.with_context(|| {
        format!(
            "no party {id} in {} (see `partseal admin party list`)",
            dir.display()
        )
    })
}

fn party_add(args: PartyAddArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.data.data;
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
    let registry = open(dir, false)?;
    if registry.party(&party.id)?.is_some() {
        bail!(
            "party {} already exists in {}; choose another --id",
            party.id,
            dir.display()
        );
    }
    if party.role == Role::Manufacturer {
        let trust = registry.trust();
        let certs: Vec<&Certificate> = certificates_of(&trust, &party.id).collect();
        if certs.is_empty() {
            bail!(
                "no trusted certificate names manufacturer id {}: a manufacturer's party id is its \
                 certificate's manufacturer id; load the certificate first with \
                 `partseal admin trust --data {} --authority FILE --cert FILE`",
                party.id,
                dir.display()
            );
        }
        if !certs.iter().any(|c| cert_state(&trust, c, now) == "valid") {
            eprintln!(
                "warning: no certificate of {} is valid now (expired, not yet valid or revoked); \
                 it cannot register new codes",
                party.id
            );
        }
    }
    registry.add_party(party.clone())?;
    println!(
        "added {} {} ({}{})",
        party.role.as_str(),
        party.id,
        party.name,
        party
            .region
            .as_deref()
            .map(|r| format!(", {r}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
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

fn party_list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let registry = open(&args.data.data, false)?;
    let parties = registry.parties()?;
    if args.json {
        let list: Vec<Value> = parties.iter().map(party_json).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if parties.is_empty() {
        println!("no parties");
    }
    for p in &parties {
        println!(
            "{:<24} {:<12} {} [{}] created {}{}",
            p.id.as_str(),
            p.role.as_str(),
            p.name,
            p.region.as_deref().unwrap_or("-"),
            p.created_at,
            p.revoked_at
                .map(|t| format!(", REVOKED {t}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn party_revoke(args: PartyRevokeArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.data.data;
    let registry = open(dir, false)?;
    let before = existing_party(&registry, &args.id, dir)?;
    if let Some(at) = before.revoked_at {
        println!("party {} was already revoked at {at}", args.id);
        return Ok(ExitCode::SUCCESS);
    }
    let party = registry.revoke_party(&args.id, Timestamp::now())?;
    let tokens = registry
        .tokens()?
        .into_iter()
        .filter(|t| t.party == party.id && t.revoked_at.is_none())
        .count();
    println!(
        "revoked party {}; its {tokens} token(s) no longer authenticate",
        party.id
    );
    Ok(ExitCode::SUCCESS)
}

fn token_create(args: TokenCreateArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.data.data;
    let now = Timestamp::now();
    let expires_at = args.expires_days.map(|d| now.plus_days(i64::from(d)));
    let registry = open(dir, false)?;
    let party = existing_party(&registry, &args.party, dir)?;
    if let Some(at) = party.revoked_at {
        bail!(
            "party {} was revoked at {at}; it gets no new tokens",
            party.id
        );
    }
    let issued = registry.issue_token(&party.id, expires_at, now)?;
    // The token itself goes to standard output only, so it can be piped into a secret store; the
    // words about it go to standard error.
    eprintln!(
        "token {} for {} {} ({}); this is the only time it is shown: the store keeps only its hash",
        issued.record.id,
        party.role.as_str(),
        party.id,
        match expires_at {
            Some(t) => format!("expires {t}"),
            None => "no expiry; revoke it with `partseal admin token revoke`".into(),
        }
    );
    println!("{}", issued.reveal());
    Ok(ExitCode::SUCCESS)
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

fn token_list(args: TokenListArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.list.data.data;
    let registry = open(dir, false)?;
    if let Some(party) = &args.party {
        existing_party(&registry, party, dir)?;
    }
    let now = Timestamp::now();
    let tokens: Vec<TokenRecord> = registry
        .tokens()?
        .into_iter()
        .filter(|t| args.party.as_ref().is_none_or(|p| *p == t.party))
        .collect();
    // Only the fields below: the record's secret hash stays in the store.
    if args.list.json {
        let list: Vec<Value> = tokens
            .iter()
            .map(|t| {
                json!({
                    "id": t.id,
                    "party": t.party.as_str(),
                    "created_at": t.created_at.to_string(),
                    "expires_at": t.expires_at.map(|x| x.to_string()),
                    "revoked_at": t.revoked_at.map(|x| x.to_string()),
                    "state": token_state(t, now),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    if tokens.is_empty() {
        println!("no tokens");
    }
    for t in &tokens {
        println!(
            "{}  {:<24} {:<8} created {}  expires {}  revoked {}",
            t.id,
            t.party.as_str(),
            token_state(t, now),
            t.created_at,
            t.expires_at.map_or("never".into(), |x| x.to_string()),
            t.revoked_at.map_or("-".into(), |x| x.to_string()),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn token_revoke(args: TokenRevokeArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.data.data;
    let registry = open(dir, false)?;
    let Some(before) = registry.tokens()?.into_iter().find(|t| t.id == args.id) else {
        bail!(
            "no token {} in {} (see `partseal admin token list`)",
            args.id,
            dir.display()
        );
    };
    if let Some(at) = before.revoked_at {
        println!("token {} was already revoked at {at}", args.id);
        return Ok(ExitCode::SUCCESS);
    }
    let token = registry.revoke_token(&args.id, Timestamp::now())?;
    println!("revoked token {} of party {}", token.id, token.party);
    Ok(ExitCode::SUCCESS)
}

fn trust(args: TrustArgs) -> anyhow::Result<ExitCode> {
    // Every file is read and checked against the authority key before the store is opened.
    let offered = files::trust_store(&args.authority, &args.certs, args.revoked.as_deref())?;
    let now = Timestamp::now();
    let registry = open(&args.data.data, true)?;
    // A stale list is refused before anything else is written, so the command is all or nothing.
    if let (Some(new), Some(current)) = (offered.revocations(), registry.trust().revocations()) {
        if new.sequence() < current.sequence() {
            bail!(
                "{} is revocation list #{}, older than #{} already in force in {}; \
                 get the authority's latest list",
                args.revoked.as_deref().unwrap_or(Path::new("-")).display(),
                new.sequence(),
                current.sequence(),
                args.data.data.display()
            );
        }
    }
    for root in offered.roots() {
        registry.add_root(*root, now)?;
        println!("trusted authority key {}", KeyId::of(root));
    }
    for cert in offered.certificates() {
        registry.add_certificate(cert.clone(), now)?;
        let b = cert.body();
        println!(
            "trusted certificate #{} for {} ({})",
            cert.serial(),
            b.manufacturer_id,
            b.legal_name
        );
        let state = cert_state(&registry.trust(), cert, now);
        if state != "valid" {
            eprintln!(
                "warning: certificate #{} is {state}: {} cannot register new codes under it",
                cert.serial(),
                b.manufacturer_id
            );
        }
    }
    if let Some(list) = offered.revocations() {
        registry.set_revocations(list.clone(), now)?;
        println!(
            "revocation list #{} in force ({} revoked certificate(s))",
            list.sequence(),
            list.entries().len()
        );
    }
    Ok(ExitCode::SUCCESS)
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

fn status(args: ListArgs) -> anyhow::Result<ExitCode> {
    let registry = open(&args.data.data, false)?;
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
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }

    println!("authority keys:   {}", list_or_none(&roots));
    println!("certificates:     {}", certs.len());
    for c in trust.certificates() {
        let b = c.body();
        println!(
            "  #{} {} ({}) prefixes {} valid {} to {}: {}",
            c.serial(),
            b.manufacturer_id,
            b.legal_name,
            b.prefixes
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(","),
            b.not_before,
            b.not_after,
            cert_state(&trust, c, now)
        );
    }
    match trust.revocations() {
        Some(l) => println!(
            "revocation list:  #{} issued {} ({} entries)",
            l.sequence(),
            l.issued_at(),
            l.entries().len()
        ),
        None => println!("revocation list:  none"),
    }
    println!(
        "parties:          {} manufacturer, {} distributor, {} shop; {} revoked",
        count_parties(Role::Manufacturer),
        count_parties(Role::Distributor),
        count_parties(Role::Shop),
        parties.iter().filter(|p| p.revoked_at.is_some()).count()
    );
    println!(
        "tokens:           {} active, {} expired, {} revoked",
        count_tokens("active"),
        count_tokens("expired"),
        count_tokens("revoked")
    );
    println!("codes:            {}", stats.codes);
    println!("events:           {}", stats.events);
    println!("flagged codes:    {}", stats.alerts);
    println!("bytes on disk:    {}", stats.bytes_on_disk);
    Ok(ExitCode::SUCCESS)
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
