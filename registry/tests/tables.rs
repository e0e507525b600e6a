//! The engine contract: what [`Tables`] promises, held against each real engine. This file runs
//! on the embedded engine; `tables_on_postgres.rs` includes it for PostgreSQL (`testkit::engine`
//! tells them apart).
//!
//! Key order (scans in byte order, prefixes, the empty key and 0xFF keys; the trait has no ranges
//! or continuation after a key; a snapshot of every table), insert-if-absent, conditional changes
//! (alone, and raced by several threads), changes over several keys (all or nothing, raced over
//! crossing sets of keys without deadlock), held changes, removes, durability across a reopen,
//! merges, and faults:
//! a full disk on the embedded engine; a dropped connection and a stopped server on PostgreSQL,
//! each recovered from without reopening the engine.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use registry::store::tables::{Change, Expect, Holds, Merge, Table, Tables};
use registry::{Create, Fault, Location, StoreError};
use testkit::disk::{Tmpfs, fill};
use testkit::engine::{Engine, engine};
use testkit::postgres::{Cluster, TestDatabase, psql};

/// The embedded engine's page cache in these tests.
const PAGES: u64 = 16 << 20;

/// A new, empty engine of this test crate's kind, with what must outlive it.
struct Opened {
    tables: Option<Box<dyn Tables>>,
    location: Location,
    _dir: tempfile::TempDir,
    database: Option<TestDatabase>,
}

impl Opened {
    fn new() -> Opened {
        let dir = tempfile::tempdir().unwrap();
        let (location, database) = match engine() {
            Engine::Sled => (Location::Directory(dir.path().join("data")), None),
            Engine::Postgres => {
                let database = TestDatabase::create_or_skip();
                (Location::Database(database.url.clone()), Some(database))
            }
        };
        Opened {
            tables: Some(location.engine(Create::IfMissing, PAGES).unwrap()),
            location,
            _dir: dir,
            database,
        }
    }

    fn tables(&self) -> &dyn Tables {
        self.tables.as_deref().unwrap()
    }

    /// Closes the engine and opens the store again, as a restarted process would.
    fn reopen(&mut self) {
        drop(self.tables.take());
        self.tables = Some(self.location.engine(Create::Never, PAGES).unwrap());
    }
}

fn get(tables: &dyn Tables, table: Table, key: &[u8]) -> Option<Vec<u8>> {
    tables.get(table, key).unwrap()
}

fn scan(tables: &dyn Tables, table: Table, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    tables
        .scan(table, prefix)
        .collect::<Result<_, _>>()
        .unwrap()
}

fn keys(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
    entries.iter().map(|(k, _)| k.clone()).collect()
}

fn put(table: Table, key: &[u8], value: &[u8]) -> Change {
    Change::Put(table, key.to_vec(), value.to_vec())
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected a conflict, got {result:?}"
    );
}

#[test]
fn scans_list_keys_in_byte_order_and_a_prefix_selects_exactly_its_keys() {
    let opened = Opened::new();
    let t = opened.tables();
    let all: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0x00, 0x00],
        vec![0x01],
        vec![0x01, 0x00],
        vec![0x01, 0x7F],
        vec![0x01, 0x80],
        vec![0x01, 0xFF],
        vec![0x01, 0xFF, 0xFF],
        vec![0x02],
        vec![0x7F],
        vec![0x80],
        vec![0xFF],
        vec![0xFF, 0x00],
        vec![0xFF, 0xFF],
        vec![0xFF, 0xFF, 0xFF],
    ];
    // Written out of order; each value holds its key and every byte value (binary-safe).
    let value = |k: &[u8]| [k, &(0..=255).collect::<Vec<u8>>()].concat();
    for k in all.iter().rev().step_by(2).chain(all.iter().step_by(2)) {
        t.put(Table::Notices, k, &value(k)).unwrap();
    }
    // The same keys in another table are another table's.
    t.put(Table::Reports, &[0x01], b"elsewhere").unwrap();

    let everything = scan(t, Table::Notices, &[]);
    assert_eq!(keys(&everything), all, "byte order, the empty key first");
    assert!(everything.iter().all(|(k, v)| *v == value(k)));
    let under = |prefix: &[u8]| -> Vec<Vec<u8>> {
        all.iter()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    };
    for prefix in [
        &[0x00][..],
        &[0x01],
        &[0x01, 0xFF],
        &[0x7F],
        &[0xFF],
        &[0xFF, 0xFF],
        &[0xFF, 0xFF, 0xFF],
    ] {
        let listed = keys(&scan(t, Table::Notices, prefix));
        assert_eq!(listed, under(prefix), "prefix {prefix:02x?}");
    }
    assert!(scan(t, Table::Notices, &[0x03]).is_empty());
    assert!(scan(t, Table::Notices, &[0xFF, 0xFF, 0xFF, 0xFF]).is_empty());
    assert_eq!(get(t, Table::Notices, &[]), Some(value(&[])));
    assert_eq!(
        get(t, Table::Notices, &[0xFF, 0xFF]),
        Some(value(&[0xFF, 0xFF]))
    );
    assert_eq!(get(t, Table::Notices, &[0x03]), None);
    assert_eq!(get(t, Table::Reports, &[0x01]), Some(b"elsewhere".to_vec()));
    assert_eq!(t.len(Table::Notices).unwrap(), all.len() as u64);

    // A large table streams in order too (a whole-table scan is how backups and the audit read).
    let many: Vec<(Vec<u8>, Vec<u8>)> = (0..20_000u32)
        .rev()
        .map(|i| (i.to_be_bytes().to_vec(), i.to_le_bytes().to_vec()))
        .collect();
    t.insert_new(Table::Events, &many).unwrap();
    let listed = scan(t, Table::Events, &[]);
    assert_eq!(listed.len(), many.len());
    assert!(listed.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(listed.iter().all(|(k, v)| k.iter().rev().eq(v.iter())));
}

#[test]
fn insert_new_takes_only_free_keys_and_answers_what_was_there() {
    let opened = Opened::new();
    let t = opened.tables();
    t.put(Table::Codes, b"taken", b"first").unwrap();
    let answers = t
        .insert_new(
            Table::Codes,
            &[
                (b"taken".to_vec(), b"second".to_vec()),
                (b"free".to_vec(), b"new".to_vec()),
            ],
        )
        .unwrap();
    assert_eq!(answers, vec![Some(b"first".to_vec()), None]);
    assert_eq!(get(t, Table::Codes, b"taken"), Some(b"first".to_vec()));
    assert_eq!(get(t, Table::Codes, b"free"), Some(b"new".to_vec()));

    // Many at once, every other key already there: answers in the order asked.
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..10_000u32)
        .map(|i| (i.to_be_bytes().to_vec(), b"mine".to_vec()))
        .collect();
    let present: Vec<(Vec<u8>, Vec<u8>)> = entries
        .iter()
        .step_by(2)
        .map(|(k, _)| (k.clone(), [b"was:", k.as_slice()].concat()))
        .collect();
    t.insert_new(Table::Batches, &present).unwrap();
    let answers = t.insert_new(Table::Batches, &entries).unwrap();
    for ((k, _), answer) in entries.iter().zip(&answers) {
        let i = u32::from_be_bytes(k.as_slice().try_into().unwrap());
        let expected = (i % 2 == 0).then(|| [b"was:", k.as_slice()].concat());
        assert_eq!(*answer, expected, "key {i}");
    }

    // Racing inserts of one key: exactly one is told it inserted, the others what it inserted.
    const RACERS: usize = 8;
    for round in 0..10u8 {
        let key = [b'r', round];
        let barrier = Barrier::new(RACERS);
        let answers: Vec<(Vec<u8>, Option<Vec<u8>>)> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..RACERS)
                .map(|i| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        let mine = format!("racer {i}").into_bytes();
                        barrier.wait();
                        let answer = t
                            .insert_new(Table::Codes, &[(key.to_vec(), mine.clone())])
                            .unwrap();
                        (mine, answer.into_iter().next().unwrap())
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let winners: Vec<&Vec<u8>> = answers
            .iter()
            .filter(|(_, answer)| answer.is_none())
            .map(|(mine, _)| mine)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {answers:?}");
        let stored = get(t, Table::Codes, &key).unwrap();
        assert_eq!(&stored, winners[0]);
        assert!(
            answers
                .iter()
                .all(|(_, answer)| answer.as_ref().is_none_or(|a| *a == stored))
        );
    }
}

#[test]
fn a_conditional_change_applies_only_while_the_expected_bytes_are_there() {
    let opened = Opened::new();
    let t = opened.tables();
    // Codes is what updates expect (PostgreSQL shares their transactions); Meta takes the
    // general path.
    for table in [Table::Codes, Table::Meta] {
        let key = b"code".as_slice();
        t.put(table, key, b"v1").unwrap();
        t.put(Table::Vehicles, b"old index", b"").unwrap();
        let expect = |expected: &'static [u8]| Expect {
            table,
            key,
            expected,
        };

        // Holds: every change is made, in order.
        t.apply(
            Some(expect(b"v1")),
            &[
                put(Table::Alerts, b"added", b"a"),
                put(Table::Events, b"event", b"e"),
                put(table, key, b"v2"),
                Change::Remove(Table::Vehicles, b"old index".to_vec()),
            ],
        )
        .unwrap();
        assert_eq!(get(t, table, key), Some(b"v2".to_vec()));
        assert_eq!(get(t, Table::Alerts, b"added"), Some(b"a".to_vec()));
        assert_eq!(get(t, Table::Events, b"event"), Some(b"e".to_vec()));
        assert_eq!(get(t, Table::Vehicles, b"old index"), None);

        // No longer holds: the caller is told, and nothing of the change is written.
        let stale = [
            put(Table::Alerts, b"stale", b"s"),
            put(Table::Events, b"event", b"overwritten"),
            put(table, key, b"v3"),
            Change::Remove(Table::Alerts, b"added".to_vec()),
        ];
        assert_conflict(t.apply(Some(expect(b"v1")), &stale));
        // A key that is not there holds no expected bytes.
        let absent = Expect {
            table,
            key: b"nowhere",
            expected: b"v2",
        };
        assert_conflict(t.apply(Some(absent), &stale));
        assert_eq!(get(t, table, key), Some(b"v2".to_vec()));
        assert_eq!(get(t, table, b"nowhere"), None);
        assert_eq!(get(t, Table::Alerts, b"stale"), None);
        assert_eq!(get(t, Table::Events, b"event"), Some(b"e".to_vec()));
        assert_eq!(get(t, Table::Alerts, b"added"), Some(b"a".to_vec()));

        // A condition on a key the changes leave alone guards them all the same.
        let elsewhere = [put(Table::Scans, b"guarded", b"g")];
        assert_conflict(t.apply(Some(expect(b"v1")), &elsewhere));
        assert_eq!(get(t, Table::Scans, b"guarded"), None);
        t.apply(Some(expect(b"v2")), &elsewhere).unwrap();
        assert_eq!(get(t, Table::Scans, b"guarded"), Some(b"g".to_vec()));

        for k in [&b"added"[..], b"stale"] {
            t.apply(None, &[Change::Remove(Table::Alerts, k.to_vec())])
                .unwrap();
        }
        t.apply(None, &[Change::Remove(Table::Scans, b"guarded".to_vec())])
            .unwrap();
    }
}

#[test]
fn of_conditional_writers_racing_for_one_key_exactly_one_wins() {
    const WRITERS: usize = 8;
    let opened = Opened::new();
    let t = opened.tables();
    for table in [Table::Codes, Table::Meta] {
        let key = b"contested".as_slice();
        t.put(table, key, b"round 0").unwrap();
        for round in 0..20u32 {
            let current = get(t, table, key).unwrap();
            let barrier = Barrier::new(WRITERS);
            let results: Vec<Result<(), StoreError>> = std::thread::scope(|s| {
                let writers: Vec<_> = (0..WRITERS)
                    .map(|i| {
                        let (barrier, current) = (&barrier, &current);
                        s.spawn(move || {
                            let expect = Expect {
                                table,
                                key,
                                expected: current,
                            };
                            let side = format!("{round}/{i}").into_bytes();
                            let changes = [
                                put(Table::Events, &side, b"written"),
                                put(table, key, &side),
                            ];
                            barrier.wait();
                            t.apply(Some(expect), &changes)
                        })
                    })
                    .collect();
                writers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            let won: Vec<usize> = (0..WRITERS).filter(|i| results[*i].is_ok()).collect();
            assert_eq!(won.len(), 1, "{table:?} round {round}: {results:?}");
            assert!(
                results
                    .iter()
                    .all(|r| matches!(r, Ok(()) | Err(StoreError::Conflict)))
            );
            let winner = format!("{round}/{}", won[0]).into_bytes();
            assert_eq!(get(t, table, key), Some(winner.clone()));
            for i in 0..WRITERS {
                let side = format!("{round}/{i}").into_bytes();
                let expected = (i == won[0]).then(|| b"written".to_vec());
                assert_eq!(get(t, Table::Events, &side), expected, "only the winner's");
                t.apply(None, &[Change::Remove(Table::Events, side)])
                    .unwrap();
            }
        }
    }
}

fn holds<'a>(table: Table, key: &'a [u8], expected: Option<&'a [u8]>) -> Holds<'a> {
    Holds {
        table,
        key,
        expected,
    }
}

#[test]
fn a_change_over_several_keys_is_made_only_while_every_condition_holds() {
    let opened = Opened::new();
    let t = opened.tables();
    let codes: [&[u8]; 3] = [b"code a", b"code b", b"code c"];
    for code in codes {
        t.put(Table::Codes, code, b"v1").unwrap();
    }
    t.put(Table::Vehicles, b"old index", b"").unwrap();
    let all_at = |v: &'static [u8]| -> Vec<Holds<'static>> {
        codes
            .iter()
            .map(|c| holds(Table::Codes, c, Some(v)))
            .collect()
    };
    let move_to = |v: &[u8], carton: &[u8]| -> Vec<Change> {
        let mut changes: Vec<Change> = codes
            .iter()
            .flat_map(|c| {
                [
                    put(Table::Events, &[*c, v].concat(), b"event"),
                    put(Table::Codes, c, v),
                ]
            })
            .collect();
        changes.push(put(Table::Meta, b"carton", carton));
        changes
    };

    // Every condition holds (one of them on a key that is not there yet, which the change puts):
    // every change is made.
    let mut conditions = all_at(b"v1");
    conditions.push(holds(Table::Meta, b"carton", None));
    let mut changes = move_to(b"v2", b"packed");
    changes.push(Change::Remove(Table::Vehicles, b"old index".to_vec()));
    t.apply_all(&conditions, &changes).unwrap();
    for code in codes {
        assert_eq!(get(t, Table::Codes, code), Some(b"v2".to_vec()));
        assert_eq!(
            get(t, Table::Events, &[code, b"v2"].concat()),
            Some(b"event".to_vec())
        );
    }
    assert_eq!(get(t, Table::Meta, b"carton"), Some(b"packed".to_vec()));
    assert_eq!(get(t, Table::Vehicles, b"old index"), None);

    // One condition of many no longer holds (each in turn, and the absent key now present):
    // nothing of the change is written.
    for stale in 0..=codes.len() {
        let mut conditions = all_at(b"v2");
        conditions.push(holds(Table::Meta, b"carton", Some(b"packed")));
        conditions[stale] = match conditions[stale].table {
            Table::Meta => holds(Table::Meta, b"carton", None),
            _ => holds(Table::Codes, codes[stale], Some(b"v1")),
        };
        assert_conflict(t.apply_all(&conditions, &move_to(b"v3", b"moved")));
        for code in codes {
            assert_eq!(
                get(t, Table::Codes, code),
                Some(b"v2".to_vec()),
                "stale {stale}"
            );
            assert_eq!(get(t, Table::Events, &[code, b"v3"].concat()), None);
        }
        assert_eq!(get(t, Table::Meta, b"carton"), Some(b"packed".to_vec()));
    }

    // Of several changes of one key the last counts; a removal of a key and its put again too.
    t.apply_all(
        &all_at(b"v2"),
        &[
            put(Table::Codes, codes[0], b"first"),
            Change::Remove(Table::Meta, b"carton".to_vec()),
            put(Table::Codes, codes[0], b"last"),
        ],
    )
    .unwrap();
    assert_eq!(get(t, Table::Codes, codes[0]), Some(b"last".to_vec()));
    assert_eq!(get(t, Table::Meta, b"carton"), None);

    // What no engine can promise is refused before anything is looked at: a key expected twice,
    // or expected absent and not put.
    let twice = [
        holds(Table::Codes, codes[1], Some(b"v2")),
        holds(Table::Codes, codes[1], Some(b"v2")),
    ];
    let refused = t.apply_all(&twice, &[put(Table::Codes, codes[1], b"x")]);
    assert!(matches!(refused, Err(StoreError::Engine(_))), "{refused:?}");
    let unput = [holds(Table::Meta, b"nowhere", None)];
    let refused = t.apply_all(&unput, &[put(Table::Codes, codes[1], b"x")]);
    assert!(matches!(refused, Err(StoreError::Engine(_))), "{refused:?}");
    assert_eq!(get(t, Table::Codes, codes[1]), Some(b"v2".to_vec()));
}

#[test]
fn writers_over_crossing_sets_of_keys_never_deadlock_and_each_change_is_whole() {
    // Threads move overlapping sets of keys, each thread naming its keys in another order; every
    // change adds one to each of its keys and writes its own mark under each. Whatever wins, a key's
    // count is the number of successful changes that held it, and no change is half made.
    const WRITERS: usize = 6;
    const KEYS: usize = 8;
    const MOVES: usize = 40;
    let opened = Opened::new();
    let t = opened.tables();
    let key = |i: usize| format!("shared {i}").into_bytes();
    for i in 0..KEYS {
        t.put(Table::Codes, &key(i), &0u64.to_be_bytes()).unwrap();
    }
    let made: Vec<Vec<Vec<usize>>> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                s.spawn(move || {
                    let mut made = Vec::new();
                    for m in 0..MOVES {
                        // Five keys from a different start; odd writers name them backwards.
                        let mut set: Vec<usize> = (0..5).map(|j| (w + m + j * 3) % KEYS).collect();
                        set.sort_unstable();
                        set.dedup();
                        if w % 2 == 1 {
                            set.reverse();
                        }
                        loop {
                            let keys: Vec<Vec<u8>> = set.iter().map(|i| key(*i)).collect();
                            let now: Vec<Vec<u8>> = keys
                                .iter()
                                .map(|k| t.get(Table::Codes, k).unwrap().unwrap())
                                .collect();
                            let conditions: Vec<Holds<'_>> = keys
                                .iter()
                                .zip(&now)
                                .map(|(k, v)| holds(Table::Codes, k, Some(v)))
                                .collect();
                            let mark = format!("{w}/{m}");
                            let changes: Vec<Change> = keys
                                .iter()
                                .zip(&now)
                                .flat_map(|(k, v)| {
                                    let n = u64::from_be_bytes(v.as_slice().try_into().unwrap());
                                    [
                                        put(Table::Codes, k, &(n + 1).to_be_bytes()),
                                        put(
                                            Table::Events,
                                            &[k.as_slice(), mark.as_bytes()].concat(),
                                            b"",
                                        ),
                                    ]
                                })
                                .collect();
                            match t.apply_all(&conditions, &changes) {
                                Ok(()) => break,
                                Err(StoreError::Conflict) => continue,
                                Err(e) => panic!("writer {w}: {e}"),
                            }
                        }
                        made.push(set);
                    }
                    made
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for i in 0..KEYS {
        let held: usize = made.iter().flatten().filter(|set| set.contains(&i)).count();
        let stored = get(t, Table::Codes, &key(i)).unwrap();
        assert_eq!(
            u64::from_be_bytes(stored.try_into().unwrap()),
            held as u64,
            "key {i}"
        );
    }
    for (w, sets) in made.iter().enumerate() {
        for (m, set) in sets.iter().enumerate() {
            for i in 0..KEYS {
                let mark = [key(i).as_slice(), format!("{w}/{m}").as_bytes()].concat();
                let written = get(t, Table::Events, &mark).is_some();
                assert_eq!(written, set.contains(&i), "writer {w} move {m} key {i}");
            }
        }
    }
}

#[test]
fn a_change_over_several_keys_outlasts_a_reopen() {
    let mut opened = Opened::new();
    let keys: Vec<Vec<u8>> = (0..50)
        .map(|i| format!("durable {i:02}").into_bytes())
        .collect();
    let conditions: Vec<Holds<'_>> = keys.iter().map(|k| holds(Table::Codes, k, None)).collect();
    let changes: Vec<Change> = keys
        .iter()
        .map(|k| put(Table::Codes, k, b"moved"))
        .collect();
    opened.tables().apply_all(&conditions, &changes).unwrap();
    opened.tables().durable().unwrap();
    opened.reopen();
    assert_eq!(scan(opened.tables(), Table::Codes, b"durable ").len(), 50);
}

#[test]
fn a_held_change_is_judged_on_what_it_read_and_other_writers_of_the_key_wait_for_it() {
    let opened = Opened::new();
    let t = opened.tables();
    for table in [Table::Codes, Table::Meta] {
        let key = b"held".as_slice();
        t.put(table, key, b"v1").unwrap();

        // Refused: nothing written.
        t.apply_held(table, key, &mut |stored| {
            assert_eq!(stored, Some(b"v1".as_slice()));
            None
        })
        .unwrap();
        assert_eq!(get(t, table, key), Some(b"v1".to_vec()));

        // While the judgement runs, another writer expecting what was read waits, then finds it
        // replaced.
        let judging = Barrier::new(2);
        let (held, other) = std::thread::scope(|s| {
            let judging = &judging;
            let held = s.spawn(move || {
                t.apply_held(table, key, &mut |stored| {
                    assert_eq!(stored, Some(b"v1".as_slice()));
                    judging.wait();
                    std::thread::sleep(Duration::from_millis(200));
                    Some(vec![
                        put(Table::Events, b"held event", b"e"),
                        put(table, key, b"held"),
                    ])
                })
            });
            let other = s.spawn(move || {
                judging.wait();
                let expect = Expect {
                    table,
                    key,
                    expected: b"v1",
                };
                t.apply(Some(expect), &[put(table, key, b"other")])
            });
            (held.join().unwrap(), other.join().unwrap())
        });
        held.unwrap();
        assert_conflict(other);
        assert_eq!(get(t, table, key), Some(b"held".to_vec()));
        assert_eq!(get(t, Table::Events, b"held event"), Some(b"e".to_vec()));

        // A key that is not there is judged as absent.
        t.apply_held(table, b"nowhere", &mut |stored| {
            assert_eq!(stored, None);
            None
        })
        .unwrap();
        t.apply(
            None,
            &[Change::Remove(Table::Events, b"held event".to_vec())],
        )
        .unwrap();
    }
}

#[test]
fn a_removed_key_is_gone_from_gets_and_scans() {
    let opened = Opened::new();
    let t = opened.tables();
    for k in [&b"a"[..], b"b", b"c"] {
        t.put(Table::Sessions, k, k).unwrap();
    }
    t.apply(
        None,
        &[
            Change::Remove(Table::Sessions, b"b".to_vec()),
            // Removing what is not there is no error.
            Change::Remove(Table::Sessions, b"never".to_vec()),
        ],
    )
    .unwrap();
    assert_eq!(get(t, Table::Sessions, b"b"), None);
    assert_eq!(
        keys(&scan(t, Table::Sessions, &[])),
        vec![b"a".to_vec(), b"c".to_vec()]
    );
    // Changes are made in order: a put after a remove of the same key stands, and the reverse.
    t.apply(
        None,
        &[
            Change::Remove(Table::Sessions, b"a".to_vec()),
            put(Table::Sessions, b"a", b"again"),
            put(Table::Sessions, b"c", b"briefly"),
            Change::Remove(Table::Sessions, b"c".to_vec()),
        ],
    )
    .unwrap();
    assert_eq!(get(t, Table::Sessions, b"a"), Some(b"again".to_vec()));
    assert_eq!(get(t, Table::Sessions, b"c"), None);
    assert_eq!(t.len(Table::Sessions).unwrap(), 1);
}

#[test]
fn a_snapshot_lists_every_table_in_order_each_in_key_order() {
    let opened = Opened::new();
    let t = opened.tables();
    // Written out of order, into tables out of order.
    for (table, key) in [
        (Table::Sessions, &b"b"[..]),
        (Table::Codes, b"\xFF"),
        (Table::Sessions, b"a"),
        (Table::Codes, b""),
        (Table::Events, b"e"),
    ] {
        t.put(table, key, b"v").unwrap();
    }
    let listed: Vec<(Table, Vec<u8>, Vec<u8>)> = t.snapshot().collect::<Result<_, _>>().unwrap();
    let mut expected = Vec::new();
    for table in Table::ALL {
        for (k, v) in scan(t, table, &[]) {
            expected.push((table, k, v));
        }
    }
    assert_eq!(listed, expected);
    let codes: Vec<&[u8]> = listed
        .iter()
        .filter(|(table, ..)| *table == Table::Codes)
        .map(|(_, k, _)| k.as_slice())
        .collect();
    assert_eq!(codes, [&b""[..], b"\xFF"]);
    assert_eq!(listed.last().unwrap().0, Table::Sessions);
    assert_eq!(listed.last().unwrap().1, b"b");
}

#[test]
fn what_was_written_before_durable_returned_is_there_after_a_reopen() {
    let mut opened = Opened::new();
    {
        let t = opened.tables();
        t.put(Table::Trust, b"put", b"1").unwrap();
        t.insert_new(Table::Trust, &[(b"inserted".to_vec(), b"2".to_vec())])
            .unwrap();
        t.apply(
            Some(Expect {
                table: Table::Trust,
                key: b"put",
                expected: b"1",
            }),
            &[put(Table::Trust, b"put", b"3")],
        )
        .unwrap();
        // Several writers, each durable on its own (they may share one sync).
        std::thread::scope(|s| {
            for i in 0..8u8 {
                s.spawn(move || {
                    t.put(Table::Parties, &[i], &[i]).unwrap();
                    t.durable().unwrap();
                });
            }
        });
        t.durable().unwrap();
    }
    opened.reopen();
    let t = opened.tables();
    assert_eq!(get(t, Table::Trust, b"put"), Some(b"3".to_vec()));
    assert_eq!(get(t, Table::Trust, b"inserted"), Some(b"2".to_vec()));
    for i in 0..8u8 {
        assert_eq!(get(t, Table::Parties, &[i]), Some(vec![i]));
    }
}

#[test]
fn merges_from_many_threads_all_count_and_ids_only_grow() {
    let opened = Opened::new();
    let t = opened.tables();
    let add: &Merge<'_> = &|stored, given| {
        let n = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap());
        Ok((stored.map_or(0, n) + n(given)).to_be_bytes().to_vec())
    };
    let one = 1u64.to_be_bytes().to_vec();
    let entries: Vec<(Vec<u8>, Vec<u8>)> = [b"x", b"y"].map(|k| (k.to_vec(), one.clone())).to_vec();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    let written = t.merge(Table::Scans, &entries, add).unwrap();
                    assert_eq!(written.len(), 2);
                }
            });
        }
    });
    for k in [b"x", b"y"] {
        assert_eq!(get(t, Table::Scans, k), Some(100u64.to_be_bytes().to_vec()));
    }
    let ids: Vec<u64> = (0..100).map(|_| t.unique_id().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

// ---- Faults ----

/// Waits until the engine takes writes again (it tests at most once a second); returns how many
/// times it asked for what was kept in front of it to be dropped.
fn until_writable(t: &dyn Tables, within: Duration) -> usize {
    let resets = AtomicUsize::new(0);
    let reset = || {
        resets.fetch_add(1, Ordering::SeqCst);
        Ok(())
    };
    let deadline = Instant::now() + within;
    loop {
        match t.writable(&reset) {
            Ok(()) => return resets.load(Ordering::SeqCst),
            Err(fault) if Instant::now() < deadline => {
                assert!(matches!(fault, Fault::Full(_) | Fault::Unavailable(_)));
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(fault) => panic!("still not writable after {within:?}: {fault}"),
        }
    }
}

/// The fault behind a failed write.
fn fault_of<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Fault {
    match result {
        Err(e) => e.fault().unwrap_or_else(|| panic!("not a fault: {e}")),
        Ok(v) => panic!("the write went through: {v:?}"),
    }
}

#[test]
fn a_full_disk_is_a_full_fault_and_writes_work_again_once_space_is_freed() {
    if engine() != Engine::Sled {
        return; // A database's disk is the server's: see the faults below.
    }
    let Some(disk) = Tmpfs::mount("24m") else {
        return;
    };
    let location = Location::Directory(disk.path().join("data"));
    let t = location.engine(Create::IfMissing, PAGES).unwrap();
    t.put(Table::Codes, b"before", b"kept").unwrap();
    t.durable().unwrap();

    let filler = fill(disk.path());
    let value = vec![0x5Au8; 64 << 10];
    let mut i = 0u32;
    let fault = loop {
        let written = t
            .put(Table::Codes, &i.to_be_bytes(), &value)
            .and_then(|()| t.durable());
        if written.is_err() {
            break fault_of(written);
        }
        i += 1;
        assert!(i < 10_000, "the disk never filled");
    };
    assert!(fault.is_full(), "{fault}");
    assert!(
        fault.cause().contains("No space left on device"),
        "the operating system's words: {fault}"
    );
    // From then on writes are refused at once, the same way, and reads go on.
    assert!(fault_of(t.put(Table::Codes, b"refused", b"x")).is_full());
    assert!(t.writable(&|| Ok(())).unwrap_err().is_full());
    assert_eq!(
        get(t.as_ref(), Table::Codes, b"before"),
        Some(b"kept".to_vec())
    );

    std::fs::remove_file(&filler).unwrap();
    let resets = until_writable(t.as_ref(), Duration::from_secs(10));
    assert_eq!(
        resets, 1,
        "what sat in front of the failed engine is dropped once"
    );
    t.put(Table::Codes, b"after", b"written").unwrap();
    t.durable().unwrap();
    assert_eq!(
        get(t.as_ref(), Table::Codes, b"after"),
        Some(b"written".to_vec())
    );
    assert_eq!(
        get(t.as_ref(), Table::Codes, b"before"),
        Some(b"kept".to_vec())
    );
}

#[test]
fn a_dropped_connection_is_an_unavailable_fault_and_the_engine_recovers() {
    if engine() != Engine::Postgres {
        return; // The embedded engine has no connection to lose.
    }
    let opened = Opened::new();
    let t = opened.tables();
    let url = &opened.database.as_ref().unwrap().url;
    t.put(Table::Meta, b"before", b"kept").unwrap();

    // Another client locks the table, so the engine's next write waits on the server while its
    // connection is dropped (as a restarting server or a failing network drops it).
    let mut holder = Command::new("psql")
        .args([url.as_str(), "-v", "ON_ERROR_STOP=1", "-qAt"])
        .args(["-c", "SET application_name = 'holder'"])
        .args([
            "-c",
            "BEGIN",
            "-c",
            "LOCK TABLE meta",
            "-c",
            "SELECT pg_sleep(30)",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let until = |sql: &str, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while psql(url, sql) == "0" {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    until(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE application_name = 'holder' AND wait_event = 'PgSleep'",
        "the other client never took the lock",
    );
    let outcome = std::thread::scope(|s| {
        let write = s.spawn(|| t.put(Table::Meta, b"during", b"lost"));
        until(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
            "the write never waited on the lock",
        );
        psql(
            url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND application_name <> 'holder'",
        );
        write.join().unwrap()
    });
    let fault = fault_of(outcome);
    assert!(matches!(fault, Fault::Unavailable(_)), "{fault}");
    psql(
        url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'holder'",
    );
    let _ = holder.kill();
    let _ = holder.wait();

    // Writes are refused for a moment, then the engine tests the database and takes them again.
    until_writable(t, Duration::from_secs(20));
    t.put(Table::Meta, b"after", b"written").unwrap();
    assert_eq!(get(t, Table::Meta, b"after"), Some(b"written".to_vec()));
    assert_eq!(get(t, Table::Meta, b"before"), Some(b"kept".to_vec()));
    assert_eq!(get(t, Table::Meta, b"during"), None, "nothing half-written");
}

#[test]
fn a_stopped_server_is_an_unavailable_fault_and_the_engine_recovers_when_it_is_back() {
    if engine() != Engine::Postgres {
        return;
    }
    // The shared test server must stay up for the other tests: this one stops a server of its
    // own (and is skipped, like every PostgreSQL test, where there is no test server).
    if testkit::postgres::server().is_none() {
        return;
    }
    let server = Cluster::start();
    let t = Location::Database(server.url())
        .engine(Create::IfMissing, PAGES)
        .unwrap();
    t.put(Table::Meta, b"before", b"kept").unwrap();

    server.stop();
    let fault = fault_of(t.put(Table::Meta, b"while stopped", b"x"));
    assert!(matches!(fault, Fault::Unavailable(_)), "{fault}");
    assert!(matches!(
        fault_of(t.get(Table::Meta, b"before")),
        Fault::Unavailable(_)
    ));
    assert!(matches!(t.writable(&|| Ok(())), Err(Fault::Unavailable(_))));

    server.resume();
    until_writable(t.as_ref(), Duration::from_secs(30));
    t.put(Table::Meta, b"after", b"written").unwrap();
    assert_eq!(
        get(t.as_ref(), Table::Meta, b"after"),
        Some(b"written".to_vec())
    );
    assert_eq!(
        get(t.as_ref(), Table::Meta, b"before"),
        Some(b"kept".to_vec())
    );
    assert_eq!(get(t.as_ref(), Table::Meta, b"while stopped"), None);
}
