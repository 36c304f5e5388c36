//! Concurrency: several threads transfer money between accounts (retrying on
//! conflicts) while other threads read every balance at their snapshot. On
//! sled, with real syncs and the local committer's group commit.
//!
//! Every snapshot must see the constant total (no torn commit is ever
//! visible), no balance may go negative (serializable checks held), and the
//! number of acknowledged transfers must match the transfer log exactly (no
//! acknowledged commit lost, none applied twice).

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quorumdb_storage::{Error, KvStore, ScanOrder, SledEngine, TxnOptions};

const ACCOUNTS: u64 = 8;
const INITIAL: i64 = 100;
const WRITERS: u64 = 4;
const TRANSFERS_PER_WRITER: u64 = 150;
const READERS: usize = 3;

fn account(i: u64) -> Vec<u8> {
    format!("acct/{i}").into_bytes()
}

fn balance(raw: Option<Vec<u8>>) -> i64 {
    String::from_utf8(raw.expect("account exists"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn snapshots_stay_consistent_while_transfers_commit_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let store = KvStore::local(Arc::new(SledEngine::open(dir.path()).unwrap())).unwrap();
    let mut setup = store.begin(TxnOptions::default()).unwrap();
    for i in 0..ACCOUNTS {
        setup.set(account(i), INITIAL.to_string().into_bytes()).unwrap();
    }
    setup.commit().unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let conflicts = Arc::new(AtomicU64::new(0));
    let snapshots_checked = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (store, done, checked) = (store.clone(), done.clone(), snapshots_checked.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Acquire) {
                    let mut txn = store
                        .begin(TxnOptions {
                            read_only: true,
                            ..Default::default()
                        })
                        .unwrap();
                    let balances: Vec<i64> = txn
                        .scan_prefix(b"acct/", ScanOrder::Forward)
                        .map(|r| balance(Some(r.unwrap().1)))
                        .collect();
                    assert_eq!(balances.len() as u64, ACCOUNTS);
                    assert_eq!(
                        balances.iter().sum::<i64>(),
                        ACCOUNTS as i64 * INITIAL,
                        "torn snapshot"
                    );
                    assert!(balances.iter().all(|b| *b >= 0), "negative balance {balances:?}");
                    checked.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, conflicts) = (store.clone(), conflicts.clone());
            std::thread::spawn(move || {
                let mut seq = w * 7 + 1;
                for t in 0..TRANSFERS_PER_WRITER {
                    seq = seq
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let (from, to) = (seq % ACCOUNTS, (seq / ACCOUNTS) % ACCOUNTS);
                    let to = if to == from { (to + 1) % ACCOUNTS } else { to };
                    let amount = (seq >> 40) as i64 % 30 + 1;
                    loop {
                        let mut txn = store.begin(TxnOptions::default()).unwrap();
                        let a = balance(txn.get(&account(from)).unwrap());
                        let b = balance(txn.get(&account(to)).unwrap());
                        let moved = amount.min(a);
                        txn.set(account(from), (a - moved).to_string().into_bytes())
                            .unwrap();
                        txn.set(account(to), (b + moved).to_string().into_bytes())
                            .unwrap();
                        txn.set(
                            format!("log/{w}/{t:05}").into_bytes(),
                            moved.to_string().into_bytes(),
                        )
                        .unwrap();
                        match txn.commit() {
                            Ok(_) => break,
                            Err(Error::Conflict { .. }) => {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("transfer failed: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer panicked");
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().expect("reader panicked");
    }

    let mut txn = store.begin(TxnOptions::default()).unwrap();
    let logged = txn
        .scan(
            (
                Bound::Included(b"log/".to_vec()),
                Bound::Excluded(b"log0".to_vec()),
            ),
            ScanOrder::Forward,
        )
        .count() as u64;
    assert_eq!(
        logged,
        WRITERS * TRANSFERS_PER_WRITER,
        "every acknowledged transfer is logged once"
    );
    let total: i64 = (0..ACCOUNTS)
        .map(|i| balance(txn.get(&account(i)).unwrap()))
        .sum();
    assert_eq!(total, ACCOUNTS as i64 * INITIAL);
    store.mvcc().verify().unwrap();
    println!(
        "{} transfers, {} conflicts retried, {} snapshots checked",
        logged,
        conflicts.load(Ordering::Relaxed),
        snapshots_checked.load(Ordering::Relaxed)
    );
    assert!(snapshots_checked.load(Ordering::Relaxed) > 0);
}
