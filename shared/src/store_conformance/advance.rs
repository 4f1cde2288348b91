//! Deadline cursors (`advance`): the store's half of GCRA rate limiting, checked against
//! the rate limiter's own arithmetic.

use std::sync::Arc;

use serde_json::json;

use super::Harness;
use crate::ratelimit::gcra::{self, BucketPolicy, Decision};
use crate::store::{ItemKey, NewItem, StoreError, WriteOp};

pub async fn advance_starts_from_now_and_accumulates_up_to_its_limit(h: Harness) {
    let key = h.key("tenant", "bucket");
    // Off a whole second, so the expiry's rounding up shows.
    h.clock.advance_ms(250);
    let t = h.now_ms();
    assert_eq!(h.store.advance(&key, 1_000, 3_000).await, Ok(t + 1_000));
    let first = h
        .store
        .get(&key)
        .await
        .unwrap()
        .expect("an advance creates");
    assert_eq!(
        first.data,
        json!(t + 1_000),
        "a cursor's data is its deadline"
    );
    assert_eq!(first.version, 1);
    assert_eq!(
        first.expires_at,
        Some((t + 3_000) / 1000 + 1),
        "expires once a full burst from now has drained, rounded up to a second"
    );
    assert_eq!(h.store.advance(&key, 1_000, 3_000).await, Ok(t + 2_000));
    assert_eq!(h.store.advance(&key, 1_000, 3_000).await, Ok(t + 3_000));
    for _ in 0..2 {
        assert_eq!(
            h.store.advance(&key, 1_000, 3_000).await,
            Err(StoreError::LimitReached { current: t + 3_000 }),
            "a fourth step would run 4 s ahead"
        );
    }
    let full = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (full.data, full.version),
        (json!(t + 3_000), 3),
        "a refusal changes nothing"
    );
    // A smaller step still fits where the full one did not.
    h.clock.advance_ms(500);
    assert_eq!(h.store.advance(&key, 500, 3_000).await, Ok(t + 3_500));
    assert_eq!(
        h.store.advance(&key, 500, 3_000).await,
        Err(StoreError::LimitReached { current: t + 3_500 })
    );
    let read = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(read.version, 4);
    assert_eq!(read.expires_at, Some((t + 500 + 3_000) / 1000 + 1));
}

pub async fn an_idle_advance_starts_again_from_now(h: Harness) {
    let key = h.key("tenant", "idle-bucket");
    let t = h.now_ms();
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(t + 1_000));
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(t + 2_000));
    // Still ahead of now: the step adds to the deadline.
    h.clock.advance_ms(1_500);
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(t + 3_000));
    // Passed: the deadline restarts from now, without credit for the idle time.
    h.clock.advance_ms(4_000);
    let now = h.now_ms();
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(now + 1_000));
    let read = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (read.data, read.version),
        (json!(now + 1_000), 4),
        "a live cursor counts its versions on, idle or not"
    );
    // Exactly at the deadline counts as idle too.
    h.clock.advance_ms(1_000);
    assert_eq!(h.store.advance(&key, 1_000, 10_000).await, Ok(now + 2_000));
}

pub async fn an_advanced_item_expires_once_drained(h: Harness) {
    let key = h.key("tenant", "draining");
    h.clock.advance_ms(400);
    let t = h.now_ms();
    assert_eq!(h.store.advance(&key, 2_000, 6_000).await, Ok(t + 2_000));
    assert_eq!(h.store.advance(&key, 2_000, 6_000).await, Ok(t + 4_000));
    let expires_at = h.store.get(&key).await.unwrap().unwrap().expires_at;
    assert_eq!(expires_at, Some((t + 6_000) / 1000 + 1));
    let expires_ms = (t + 6_000) / 1000 * 1000 + 1000;
    h.clock.set_ms(expires_ms - 1);
    assert!(
        h.store.get(&key).await.unwrap().is_some(),
        "alive a millisecond before"
    );
    h.clock.set_ms(expires_ms);
    assert_eq!(h.store.get(&key).await.unwrap(), None, "gone at expires_at");
    let now = h.now_ms();
    assert_eq!(h.store.advance(&key, 2_000, 6_000).await, Ok(now + 2_000));
    let fresh = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (fresh.data, fresh.version),
        (json!(now + 2_000), 1),
        "an expired cursor in the way is replaced, as create does"
    );
}

pub async fn advance_refuses_nonsense(h: Harness) {
    let key = h.key("tenant", "not-a-bucket");
    for (step, max_ahead) in [(0, 1_000), (-5, 1_000), (1_000, 999)] {
        assert!(
            matches!(
                h.store.advance(&key, step, max_ahead).await,
                Err(StoreError::Invalid(_))
            ),
            "step {step}, max_ahead {max_ahead}"
        );
        let ops = vec![WriteOp::Advance {
            key: key.clone(),
            step_ms: step,
            max_ahead_ms: max_ahead,
        }];
        assert!(matches!(
            h.store.transact(ops).await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert_eq!(h.store.get(&key).await.unwrap(), None);
    h.store
        .create(NewItem::new(key.clone(), json!({"a": 1})))
        .await
        .unwrap();
    assert!(matches!(
        h.store.advance(&key, 1_000, 5_000).await,
        Err(StoreError::Invalid(_))
    ));
    let ops = vec![WriteOp::Advance {
        key: key.clone(),
        step_ms: 1_000,
        max_ahead_ms: 5_000,
    }];
    assert_eq!(
        h.store.transact(ops).await,
        Err(StoreError::TransactionConflict { index: 0 })
    );
    let unchanged = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!((unchanged.version, unchanged.data), (1, json!({"a": 1})));
}

pub async fn racing_advances_give_exactly_the_capacity(h: Harness) {
    // Capacity 10 with the clock frozen: 200 racers, 10 winners, each deadline handed out once.
    let key = h.key("tenant", "raced-bucket");
    let t = h.now_ms();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (store, key) = (Arc::clone(&h.store), key.clone());
        tasks.push(tokio::spawn(async move {
            store.advance(&key, 1_000, 10_000).await
        }));
    }
    let mut allowed = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(deadline) => allowed.push(deadline),
            Err(StoreError::LimitReached { current }) if current == t + 10_000 => refused += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    allowed.sort_unstable();
    assert_eq!(
        allowed,
        (1..=10).map(|n| t + n * 1_000).collect::<Vec<_>>(),
        "each deadline handed out once"
    );
    assert_eq!(refused, 190);
    let read = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!((read.data, read.version), (json!(t + 10_000), 10));
}

pub async fn advances_on_different_keys_are_independent(h: Harness) {
    let keys = [h.key("tenant", "bucket-a"), h.key("tenant", "bucket-b")];
    let t = h.now_ms();
    let mut tasks = Vec::new();
    for n in 0..30 {
        let (store, key) = (Arc::clone(&h.store), keys[n % 2].clone());
        tasks.push(tokio::spawn(async move {
            (n % 2, store.advance(&key, 1_000, 10_000).await)
        }));
    }
    let mut allowed = [Vec::new(), Vec::new()];
    let mut refused = [0, 0];
    for task in tasks {
        match task.await.unwrap() {
            (which, Ok(deadline)) => allowed[which].push(deadline),
            (which, Err(StoreError::LimitReached { .. })) => refused[which] += 1,
            (_, Err(other)) => panic!("unexpected error {other:?}"),
        }
    }
    for which in 0..2 {
        allowed[which].sort_unstable();
        assert_eq!(
            allowed[which],
            (1..=10).map(|n| t + n * 1_000).collect::<Vec<_>>(),
            "key {which} gets its own 10"
        );
        assert_eq!(refused[which], 5);
    }
}

pub async fn a_transaction_with_an_advance_is_all_or_nothing(h: Harness) {
    let bucket = h.key("tenant", "tx-bucket");
    let advance = |key: &ItemKey| WriteOp::Advance {
        key: key.clone(),
        step_ms: 1_000,
        max_ahead_ms: 2_000,
    };
    let create = |sk: &str| WriteOp::Create(NewItem::new(h.key("tenant", sk), json!(sk)));
    let t = h.now_ms();
    h.store
        .transact(vec![create("case#1"), advance(&bucket)])
        .await
        .unwrap();
    h.store
        .transact(vec![create("case#2"), advance(&bucket)])
        .await
        .unwrap();
    for sk in ["case#1", "case#2"] {
        assert!(h.store.get(&h.key("tenant", sk)).await.unwrap().is_some());
    }
    let full = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((full.data, full.version), (json!(t + 2_000), 2));

    // The bucket is full: the whole transaction is refused, naming the advance.
    assert_eq!(
        h.store
            .transact(vec![create("case#3"), advance(&bucket)])
            .await,
        Err(StoreError::TransactionConflict { index: 1 })
    );
    assert_eq!(
        h.store.get(&h.key("tenant", "case#3")).await.unwrap(),
        None,
        "the create was not written"
    );
    assert_eq!(
        h.store
            .transact(vec![advance(&bucket), create("case#3")])
            .await,
        Err(StoreError::TransactionConflict { index: 0 })
    );

    // Room again, but the create conflicts: the bucket keeps its deadline and version.
    h.clock.advance_ms(1_500);
    assert_eq!(
        h.store
            .transact(vec![create("case#1"), advance(&bucket)])
            .await,
        Err(StoreError::TransactionConflict { index: 0 })
    );
    let unchanged = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((unchanged.data, unchanged.version), (json!(t + 2_000), 2));
    let fresh = h.key("tenant", "tx-untouched");
    assert_eq!(
        h.store
            .transact(vec![create("case#2"), advance(&fresh)])
            .await,
        Err(StoreError::TransactionConflict { index: 0 })
    );
    assert_eq!(
        h.store.get(&fresh).await.unwrap(),
        None,
        "no cursor was created"
    );
    // And with room and no conflict it steps on from the deadline.
    h.store
        .transact(vec![create("case#3"), advance(&bucket)])
        .await
        .unwrap();
    let read = h.store.get(&bucket).await.unwrap().unwrap();
    assert_eq!((read.data, read.version), (json!(t + 3_000), 3));
}

/// The store's advance and [`gcra::decide`] agree request by request: allowed with the same
/// deadline, or refused where the refusal's deadline gives decide's wait.
pub async fn advance_agrees_with_gcra(h: Harness) {
    // 5 requests per 10 s, 3 at once: T = 3334 ms, a horizon of 10002 ms.
    let policy = BucketPolicy::new(5, std::time::Duration::from_secs(10))
        .and_then(|p| p.with_burst(3))
        .unwrap();
    let key = h.key("tenant", "gcra");
    let mut current = None;
    let (mut allowed, mut denied) = (0, 0);
    // A fixed pseudo-random walk: bursts, pauses, and waits past expiry.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..40 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let gap = match seed >> 61 {
            0..=3 => 0,
            4 | 5 => (seed >> 20) as i64 % 4_000,
            6 => (seed >> 20) as i64 % 12_000,
            _ => 15_000,
        };
        h.clock.advance_ms(gap);
        let now = h.now_ms();
        let stored = h
            .store
            .advance(&key, policy.step_ms(), policy.max_ahead_ms())
            .await;
        match (gcra::decide(current, now, &policy), stored) {
            (Decision::Allowed { deadline_ms }, Ok(deadline)) => {
                assert_eq!(deadline, deadline_ms, "at {now}");
                current = Some(deadline);
                allowed += 1;
            }
            (Decision::Denied { retry_after_ms }, Err(StoreError::LimitReached { current: d })) => {
                assert_eq!(Some(d), current, "at {now}");
                assert_eq!(gcra::retry_after_ms(d, now, &policy), retry_after_ms);
                denied += 1;
            }
            (decided, stored) => panic!("at {now}: decide says {decided:?}, the store {stored:?}"),
        }
    }
    assert!(
        allowed >= 10 && denied >= 5,
        "the walk exercises both: {allowed} allowed, {denied} denied"
    );
}
