//! Several processes on one PostgreSQL database, as replicas of the service run: each test opens
//! more than one registry on the same database and checks that no process lock is what keeps
//! them correct.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use registry::{
    Action, CodeKey, Outcome, Party, PartyId, Registry, RegistryConfig, RegistryError, Role, Vin,
};
use signer::{Lot, SignedCode};
use testkit::engine::restore;
use testkit::world::*;

/// `n` more registries on the world's database, as other processes open it.
fn replicas(w: &World, n: usize) -> Vec<Arc<Registry>> {
    let url = &w.database.as_ref().expect("a PostgreSQL world").url;
    (0..n)
        .map(|_| Arc::new(Registry::connect(url, RegistryConfig::default()).unwrap()))
        .collect()
}

/// Polls `check` until it holds or `within` has passed; returns how long it took.
fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "not seen within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

#[test]
fn one_install_wins_when_three_replicas_install_the_same_code_at_once() {
    let w = World::new();
    let replicas = replicas(&w, 3);
    let vins = [VIN_A, VIN_B, VIN_C];
    for round in 0..10 {
        let key = w.registered(&format!("XRACE{round}"));
        let barrier = Arc::new(Barrier::new(vins.len()));
        let outcomes: Vec<Outcome> = std::thread::scope(|s| {
            let handles: Vec<_> = vins
                .iter()
                .zip(&replicas)
                .enumerate()
                .map(|(i, (v, registry))| {
                    let (barrier, key) = (barrier.clone(), key.clone());
                    s.spawn(move || {
                        let shop = PartyId::parse(&format!("shop-{i}")).unwrap();
                        barrier.wait();
                        registry
                            .record_genuine_scan(
                                &key,
                                &shop,
                                Action::Install {
                                    vin: Vin::parse(v).unwrap(),
                                },
                                day(2),
                            )
                            .unwrap()
                            .event
                            .outcome
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let applied = outcomes.iter().filter(|o| **o == Outcome::Applied).count();
        assert_eq!(applied, 1, "round {round}: {outcomes:?}");
        // Every attempt is in the chain, each once, as a process that did not take part sees it
        // (within the bound on its cached copy).
        eventually(Duration::from_millis(1500), || {
            let history = w.registry.history(&key).unwrap().unwrap();
            history.record.events as usize == 1 + vins.len()
                && history.events.len() == 1 + vins.len()
        });
    }
    assert!(w.registry.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn a_replica_sees_another_replicas_write_within_the_bound_and_its_own_at_once() {
    let w = World::new();
    let key = w.registered("STALE1");
    let other = replicas(&w, 1).remove(0);
    // The other replica reads (and keeps) the record before the write.
    assert_eq!(other.status(&key).unwrap().unwrap().record.events, 1);
    let shop = party("shop-1");
    w.registry
        .record_genuine_scan(&key, &shop, Action::Receive, day(2))
        .unwrap();
    assert_eq!(w.registry.status(&key).unwrap().unwrap().record.events, 2);
    let took = eventually(Duration::from_millis(1500), || {
        other.status(&key).unwrap().unwrap().record.events == 2
    });
    assert!(took <= Duration::from_millis(1100), "{took:?}");
    // A write through the other replica judged on its stale copy would be wrong: it is judged on
    // the stored record (the receive is a repeat, not a second take-over).
    let next = other
        .record_genuine_scan(&key, &shop, Action::Receive, day(3))
        .unwrap();
    assert_eq!(next.event.seq, 2);
}

#[test]
fn revocations_and_recalls_through_one_replica_hold_in_every_other_within_a_second() {
    let w = World::new();
    let other = replicas(&w, 1).remove(0);
    w.registry
        .add_party(Party {
            id: party("shop-1"),
            role: Role::Shop,
            name: "Shop".into(),
            region: None,
            created_at: day(0),
            revoked_at: None,
        })
        .unwrap();
    let token = w
        .registry
        .issue_token(&party("shop-1"), None, day(1))
        .unwrap();
    assert!(other.authenticate(token.reveal(), day(1)).unwrap().is_ok());
    w.registry.revoke_token(&token.record.id, day(2)).unwrap();
    // Tokens are read from the database on every request: refused at once.
    assert!(other.authenticate(token.reveal(), day(2)).unwrap().is_err());

    // A lot recalled through one replica reads recalled through the other within the bound.
    let key = w.registered("RECALL1");
    assert!(other.status(&key).unwrap().unwrap().lot_recall.is_none());
    let gtin = signer::Gtin::parse(GTIN).unwrap();
    w.registry
        .recall_lot(
            &gtin,
            &Lot::parse("L2026A").unwrap(),
            &w.maker_party(),
            "brake fade",
            day(3),
        )
        .unwrap();
    eventually(Duration::from_millis(1500), || {
        other.status(&key).unwrap().unwrap().lot_recall.is_some()
    });

    // A certificate trusted through one replica lets the other register its codes within it.
    let maker = key_of(9);
    let cert = certificate(&w.authority, &maker, 11, "second-maker");
    w.registry.add_certificate(cert, day(3)).unwrap();
    let code = SignedCode::sign(part(GTIN, "L2026B", "SECOND1"), &maker);
    eventually(Duration::from_millis(1500), || {
        other
            .register(std::slice::from_ref(&code), None, day(3))
            .unwrap()[0]
            .code()
            == "registered"
    });
    assert!(other.status(&CodeKey::of(&code.part)).unwrap().is_some());
}

fn key_of(n: u8) -> signer::SigningKey {
    key(n)
}

#[test]
fn scans_counted_by_several_replicas_add_up() {
    let w = World::new();
    let key = w.registered("SCANS1");
    let replicas = replicas(&w, 3);
    let now = day(2);
    // Each replica counts scans from its own networks, and writes them behind, twice.
    for round in 0..2u8 {
        std::thread::scope(|s| {
            for (i, r) in replicas.iter().enumerate() {
                let key = key.clone();
                s.spawn(move || {
                    for n in 0..5u8 {
                        let ip = std::net::IpAddr::from([10, i as u8, round * 10 + n, 1]);
                        r.record_scan(&key, &r.scan_context(ip, None), now).unwrap();
                    }
                    r.write_scans().unwrap();
                });
            }
        });
    }
    let stored = w.registry.scans(&key).unwrap().unwrap();
    assert_eq!(stored.total, 30, "every replica's scans, none overwritten");
    assert_eq!(stored.daily, vec![(now.0.div_euclid(86_400), 30)]);
    // The replicas share the store's salt, so one network is one context in all of them.
    assert_eq!(
        stored.distinct_networks(now, registry::ScanPolicy::default()),
        30
    );
}

#[test]
fn told_of_each_others_changes_replicas_keep_records_longer_and_see_a_change_at_once() {
    let w = World::new();
    let key = w.registered("TOLD1");
    let other = replicas(&w, 1).remove(0);
    // Listening starts moments after opening.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(other.status(&key).unwrap().unwrap().record.events, 1);
    // Past the 1 s bound, the record is still served from memory: nothing changed it.
    std::thread::sleep(Duration::from_millis(1300));
    let hits = other.record_cache().hits;
    assert_eq!(other.status(&key).unwrap().unwrap().record.events, 1);
    assert_eq!(other.record_cache().hits, hits + 1, "served from memory");
    // A change through another replica reaches it well within the bound.
    w.registry
        .record_genuine_scan(&key, &party("shop-1"), Action::Receive, day(2))
        .unwrap();
    let took = eventually(Duration::from_millis(1500), || {
        other.status(&key).unwrap().unwrap().record.events == 2
    });
    assert!(took < Duration::from_millis(300), "{took:?}");
}

/// `sql` on the world's database: what it printed, one value a line.
fn psql(w: &World, sql: &str) -> String {
    let url = &w.database.as_ref().expect("a PostgreSQL world").url;
    testkit::postgres::psql(url, sql)
}

/// Sets `setting` to `value` for every later session on the world's database.
fn set_for_database(w: &World, setting: &str, value: &str) {
    psql(
        w,
        &format!(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET {setting} = ''{value}''', \
             current_database()); END $$"
        ),
    );
}

/// Connections to the world's database, other than the one asking.
fn connections(w: &World) -> u64 {
    psql(
        w,
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .parse()
    .unwrap()
}

/// What two replicas' writers did.
struct Load {
    /// Events stored, counted once the replicas' connections have ended, so the database's
    /// statistics count everything they did.
    events: usize,
    /// The writes that failed, with their errors.
    failed: Vec<RegistryError>,
}

/// Two new replicas' `writers` receiving the world's `codes` over and over, each writer going
/// through every code, for `load`; then checks that every acknowledged event is in its code's
/// chain and no other is (as a process opened afterwards reads them), and that the audit is
/// clean.
fn receive_the_same_codes(w: &World, codes: &[CodeKey], writers: usize, load: Duration) -> Load {
    let connected = connections(w);
    let replicas = replicas(w, 2);
    let shop = party("shop-1");
    let started = Instant::now();
    let written: Vec<Result<(usize, u32), RegistryError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|i| {
                let (registry, shop) = (&replicas[i % replicas.len()], &shop);
                s.spawn(move || {
                    let mut written = Vec::new();
                    let mut next = i;
                    while started.elapsed() < load {
                        let code = next % codes.len();
                        next += 1;
                        let recorded = registry.record_genuine_scan(
                            &codes[code],
                            shop,
                            Action::Receive,
                            day(2),
                        );
                        written.push(recorded.map(|r| (code, r.event.seq)));
                    }
                    written
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    drop(replicas);
    let (acked, failed): (Vec<_>, Vec<_>) = written.into_iter().partition(Result::is_ok);
    let acked: Vec<(usize, u32)> = acked.into_iter().flatten().collect();
    let failed: Vec<RegistryError> = failed.into_iter().filter_map(Result::err).collect();
    assert!(
        acked.len() >= writers,
        "too few writes to test: {}",
        acked.len()
    );
    let reader = self::replicas(w, 1).remove(0);
    let mut stored = 0;
    for (code, key) in codes.iter().enumerate() {
        let history = reader.history(key).unwrap().unwrap();
        let seqs: Vec<u32> = history.events.iter().skip(1).map(|e| e.seq).collect();
        let mut acks: Vec<u32> = acked
            .iter()
            .filter(|(c, _)| *c == code)
            .map(|(_, seq)| *seq)
            .collect();
        acks.sort_unstable();
        assert_eq!(seqs, acks, "code {code}: stored events, acknowledged ones");
        stored += seqs.len();
    }
    assert_eq!(stored, acked.len());
    assert!(reader.audit(|_| {}).unwrap().is_clean());
    drop(reader);
    eventually(Duration::from_secs(10), || connections(w) <= connected);
    Load {
        events: stored,
        failed,
    }
}

/// Two replicas' writers on the same few codes: the shared transactions of both hold several of
/// the codes at once, and must never deadlock.
#[test]
fn replicas_writing_the_same_codes_never_deadlock() {
    let w = World::new();
    // A deadlock is found only after `deadlock_timeout` (1 s by default), holding its writers that
    // long; looked for sooner, a few seconds of load meet the ones that can happen (on the code
    // before this test, one to three in every run).
    set_for_database(&w, "deadlock_timeout", "20ms");
    let codes: Vec<CodeKey> = (0..10)
        .map(|i| w.registered(&format!("XSHARED{i}")))
        .collect();
    let Load { events, failed } = receive_the_same_codes(&w, &codes, 64, Duration::from_secs(5));
    assert!(
        failed.is_empty(),
        "{} writes failed, the first: {:?}",
        failed.len(),
        failed.first()
    );
    let deadlocks = psql(
        &w,
        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
    );
    println!("64 writers, 10 codes, 2 replicas, 5 s: {events} events, {deadlocks} deadlocks");
    assert_eq!(deadlocks, "0", "deadlocks in the database");
}

/// A transaction the database aborts (a serialization failure, or a deadlock) is a conflict,
/// judged again: never a storage fault, so writes are never closed for it.
#[test]
fn a_transaction_the_database_aborts_is_judged_again_not_an_outage() {
    let w = World::new();
    // At this isolation level, nearly every concurrent write of one code by two replicas ends in
    // a serialization failure of one of them. (One code: an aborted shared transaction fails
    // every update in it, and each is judged again; with several codes, a code could lose many
    // times in a row for others' sake.)
    set_for_database(&w, "default_transaction_isolation", "serializable");
    let codes = [w.registered("XABORT1")];
    let Load { events, failed } = receive_the_same_codes(&w, &codes, 8, Duration::from_secs(3));
    // A fault here would be the outage this test is about; a conflict, a write given up after
    // losing every round (see the test below).
    assert!(
        failed.is_empty(),
        "{} writes failed, the first: {:?}",
        failed.len(),
        failed.first()
    );
    let aborted = psql(
        &w,
        "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()",
    );
    println!(
        "8 writers, 1 code, serializable, 3 s: {events} events, {aborted} transactions rolled back"
    );
    assert_ne!(
        aborted, "0",
        "the database aborted no transaction: nothing was tested"
    );
}

/// A write that loses its code to the other replica is judged again on a record it must read
/// from the database, while the winner's next write is judged on the record it holds in memory
/// and takes the code's row first: under serializable isolation one write could lose every round
/// and give up after the registry's last retry (most runs, even with one writer a replica), until
/// the loser of a round was judged again with the code's row locked.
#[test]
fn a_write_losing_to_another_replica_is_not_starved() {
    let w = World::new();
    set_for_database(&w, "default_transaction_isolation", "serializable");
    let codes = [w.registered("XSTARVE1")];
    let Load { failed, .. } = receive_the_same_codes(&w, &codes, 2, Duration::from_secs(3));
    assert!(
        failed.is_empty(),
        "{} writes failed, the first: {:?}",
        failed.len(),
        failed.first()
    );
}

/// Sets its flag when dropped, also when a test fails: the threads it stops must end for the
/// failure to be reported.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A backup through one replica while another keeps recording events: one moment of the whole
/// database, so the restored copy's records, chains and indexes agree.
#[test]
fn a_backup_taken_while_another_replica_writes_is_one_moment_of_the_database() {
    const BACKUPS: usize = 5;
    let w = World::new();
    // Enough codes that reading the tables takes a moment, and a few that keep changing.
    let codes: Vec<SignedCode> = (0..3000).map(|i| w.code(&format!("XBAK{i}"))).collect();
    w.registry.register(&codes, None, day(1)).unwrap();
    let hot: Vec<CodeKey> = codes[..10].iter().map(|c| CodeKey::of(&c.part)).collect();
    let writer = replicas(&w, 1).remove(0);
    let stop = AtomicBool::new(false);
    let shop = party("shop-1");
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let (writer, hot, stop, shop) = (&writer, &hot, &stop, &shop);
                s.spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let key = &hot[(i + n) % hot.len()];
                        writer
                            .record_genuine_scan(key, shop, Action::Receive, day(2))
                            .unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let stopping = StopOnDrop(&stop);
        for round in 1..=BACKUPS {
            let mut backup = Vec::new();
            w.registry.backup(&mut backup).unwrap();
            let (restored, _dir, _database) = restore(&backup);
            let report = restored.audit(|_| {}).unwrap();
            assert!(
                report.is_clean(),
                "backup {round} of {BACKUPS}: {:?}",
                report.problems
            );
            assert_eq!(report.codes, codes.len() as u64);
        }
        drop(stopping);
        let written: usize = writers.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(written > BACKUPS, "too few writes to test: {written}");
    });
}
