//! Points, decay and escalation: pure functions of a member's cases, the tenant's settings and
//! the time, so the score is computed when read and never drifts in storage.
//!
//! Points are counted in thousandths ("milli-points") so linear decay of 0.1 point a day is exact
//! integer arithmetic: no float rounding makes two readers disagree about a threshold.

use super::case::{Case, Kind, Status};
use super::settings::{ModSettings, Threshold};

pub const MILLI: i64 = 1000;
const DAY_SECS: i64 = 86_400;

/// What one case still weighs at `now`: its points less the decay since it was given, never
/// below zero. Pardoned cases weigh nothing, nor do cases the decay job pruned once fully
/// decayed (a later, slower decay rate does not bring them back); an expired sanction still
/// counts (it happened).
pub fn remaining_milli(case: &Case, decay_milli_per_day: u32, now: i64) -> i64 {
    if case.status == Status::Pardoned || case.decayed_at.is_some() {
        return 0;
    }
    let full = i64::from(case.points) * MILLI;
    let elapsed = (now - case.created_at).max(0);
    // Multiply before dividing so partial days decay too; i128 so no product can overflow.
    let decayed = (i128::from(decay_milli_per_day) * i128::from(elapsed) / i128::from(DAY_SECS))
        .min(i128::from(full)) as i64;
    full - decayed
}

/// A member's score at `now`: the sum of what their cases still weigh.
pub fn score_milli<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
    settings: &ModSettings,
    now: i64,
) -> i64 {
    cases
        .into_iter()
        .map(|c| remaining_milli(c, settings.decay_milli_per_day, now))
        .sum()
}

/// `3.2` from 3200 milli-points: one decimal, rounded down, as moderators read it.
pub fn display(milli: i64) -> String {
    format!("{}.{}", milli / MILLI, (milli % MILLI) / 100)
}

/// The highest threshold the score has reached, if any.
pub fn reached(settings: &ModSettings, score_milli: i64) -> Option<&Threshold> {
    settings
        .thresholds
        .iter()
        .filter(|t| i64::from(t.points) * MILLI <= score_milli)
        .max_by_key(|t| (t.points, t.action.severity()))
}

/// The sanction to recommend after a member received `given` and now stands at `score_milli`:
/// the reached threshold's action, when it is stronger than what was just given (a mute at
/// the mute threshold needs no second mute).
pub fn recommendation(settings: &ModSettings, score_milli: i64, given: Kind) -> Option<&Threshold> {
    reached(settings, score_milli).filter(|t| t.action.severity() > given.severity())
}

/// When the score will fall below `points` if nothing else happens, for "decays below the mute
/// threshold in 12 days". `None` if it is already below or the tenant switched decay off.
pub fn falls_below_at(
    cases: &[Case],
    settings: &ModSettings,
    points: u32,
    now: i64,
) -> Option<i64> {
    let target = i64::from(points) * MILLI;
    if score_milli(cases, settings, now) < target || settings.decay_milli_per_day == 0 {
        return None;
    }
    // The score only falls with time, so the first second below the target is found by
    // bisection over at most the time the heaviest case needs to decay fully.
    let longest = cases
        .iter()
        .map(|c| {
            c.created_at
                + (i64::from(c.points) * MILLI * DAY_SECS)
                    .saturating_add(i64::from(settings.decay_milli_per_day) - 1)
                    / i64::from(settings.decay_milli_per_day)
        })
        .max()?;
    let (mut low, mut high) = (now, longest.max(now) + 1);
    while low < high {
        let mid = low + (high - low) / 2;
        if score_milli(cases, settings, mid) < target {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Some(low)
}

/// When `case` will weigh nothing at this decay rate (`None`: decay is off).
pub fn fully_decayed_at(case: &Case, decay_milli_per_day: u32) -> Option<i64> {
    if decay_milli_per_day == 0 {
        return None;
    }
    let rate = i64::from(decay_milli_per_day);
    let full = i64::from(case.points) * MILLI;
    // The first second at which rate * elapsed / DAY reaches the full weight.
    Some(case.created_at + (full * DAY_SECS).saturating_add(rate - 1) / rate)
}

/// The next time, after `now`, at which something the decay job acts on happens if no case is
/// added: the score falls below the threshold it has reached, or a case still counting decays
/// fully. `None` when nothing will (decay off, or every case already weighs nothing).
pub fn next_change_at(cases: &[Case], settings: &ModSettings, now: i64) -> Option<i64> {
    if settings.decay_milli_per_day == 0 {
        return None;
    }
    let score = score_milli(cases, settings, now);
    let below =
        reached(settings, score).and_then(|t| falls_below_at(cases, settings, t.points, now));
    cases
        .iter()
        .filter(|c| remaining_milli(c, settings.decay_milli_per_day, now) > 0)
        .filter_map(|c| fully_decayed_at(c, settings.decay_milli_per_day))
        .chain(below)
        .filter(|at| *at > now)
        .min()
}

impl Kind {
    /// Order of strength, for escalation: a ban is stronger than a kick.
    pub fn severity(self) -> u8 {
        match self {
            Kind::Note => 0,
            Kind::Warning => 1,
            Kind::Mute => 2,
            Kind::Kick => 3,
            Kind::TempBan => 4,
            Kind::Ban => 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn case(points: u32, created_at: i64, status: Status) -> Case {
        let mut case = Case::new(1, Kind::Warning, "u", "m", "r", created_at, None);
        case.points = points;
        case.status = status;
        case
    }

    fn settings() -> ModSettings {
        ModSettings::default()
    }

    #[test]
    fn the_defaults_decay_a_tenth_of_a_point_a_day() {
        let warning = case(1, 0, Status::Active);
        assert_eq!(remaining_milli(&warning, 100, 0), 1000);
        assert_eq!(remaining_milli(&warning, 100, DAY_SECS), 900);
        assert_eq!(remaining_milli(&warning, 100, DAY_SECS / 2), 950);
        assert_eq!(remaining_milli(&warning, 100, 10 * DAY_SECS), 0);
        assert_eq!(remaining_milli(&warning, 100, 400 * DAY_SECS), 0);
        assert_eq!(display(950), "0.9");
        assert_eq!(display(3_200), "3.2");
    }

    #[test]
    fn pardoned_cases_weigh_nothing_and_expired_ones_still_count() {
        assert_eq!(remaining_milli(&case(5, 0, Status::Pardoned), 100, 0), 0);
        assert_eq!(remaining_milli(&case(5, 0, Status::Expired), 100, 0), 5000);
    }

    #[test]
    fn three_warnings_recommend_a_mute_and_a_mute_recommends_nothing_more() {
        let s = settings();
        let cases = vec![case(1, 0, Status::Active); 3];
        let score = score_milli(&cases, &s, 0);
        assert_eq!(score, 3000);
        let t = recommendation(&s, score, Kind::Warning).expect("a mute is recommended");
        assert_eq!(t.action, Kind::Mute);
        assert!(recommendation(&s, score, Kind::Mute).is_none());
        // A day later the three warnings have decayed below the threshold.
        assert!(recommendation(&s, score_milli(&cases, &s, DAY_SECS), Kind::Warning).is_none());
        assert_eq!(
            falls_below_at(&cases, &s, 3, 0),
            // The first thousandth of a point decays after 864 s (0.1 point a day).
            Some(864)
        );
    }

    #[test]
    fn the_highest_reached_threshold_wins() {
        let s = settings();
        assert_eq!(reached(&s, 2_999), None);
        assert_eq!(reached(&s, 6_000).map(|t| t.action), Some(Kind::Kick));
        assert_eq!(reached(&s, 14_999).map(|t| t.action), Some(Kind::TempBan));
        assert_eq!(reached(&s, 99_000).map(|t| t.action), Some(Kind::Ban));
    }

    #[test]
    fn a_pruned_case_weighs_nothing_even_at_a_slower_rate() {
        let mut warning = case(1, 0, Status::Active);
        assert_eq!(fully_decayed_at(&warning, 100), Some(10 * DAY_SECS));
        assert_eq!(remaining_milli(&warning, 100, 10 * DAY_SECS), 0);
        assert_eq!(remaining_milli(&warning, 50, 10 * DAY_SECS), 500);
        warning.decayed_at = Some(10 * DAY_SECS);
        assert_eq!(remaining_milli(&warning, 50, 10 * DAY_SECS), 0);
        assert_eq!(fully_decayed_at(&warning, 0), None);
    }

    #[test]
    fn the_next_change_is_a_threshold_or_a_full_decay_whichever_comes_first() {
        let s = settings();
        // Three warnings: below the mute threshold after 864 s, long before any decays fully.
        let cases = vec![case(1, 0, Status::Active); 3];
        assert_eq!(next_change_at(&cases, &s, 0), Some(864));
        // Past the threshold, the next change is the first full decay (10 days).
        assert_eq!(next_change_at(&cases, &s, 864), Some(10 * DAY_SECS));
        assert_eq!(next_change_at(&cases, &s, 10 * DAY_SECS), None);
        let mut off = s.clone();
        off.decay_milli_per_day = 0;
        assert_eq!(next_change_at(&cases, &off, 0), None);
    }

    fn arb_status() -> impl Strategy<Value = Status> {
        prop_oneof![
            Just(Status::Active),
            Just(Status::Expired),
            Just(Status::Pardoned)
        ]
    }

    fn arb_cases() -> impl Strategy<Value = Vec<Case>> {
        prop::collection::vec(
            (0u32..=20, 0i64..400 * DAY_SECS, arb_status()).prop_map(|(p, at, st)| case(p, at, st)),
            0..12,
        )
    }

    proptest! {
        #[test]
        fn a_case_never_weighs_more_than_its_points_nor_less_than_zero(
            points in 0u32..=1000, age in 0i64..4000 * DAY_SECS, rate in 0u32..=100_000
        ) {
            let c = case(points, 0, Status::Active);
            let left = remaining_milli(&c, rate, age);
            prop_assert!(left >= 0);
            prop_assert!(left <= i64::from(points) * MILLI);
        }

        #[test]
        fn the_score_never_rises_with_time(
            cases in arb_cases(), rate in 0u32..=5_000,
            t1 in 0i64..800 * DAY_SECS, dt in 0i64..800 * DAY_SECS
        ) {
            let mut s = settings();
            s.decay_milli_per_day = rate;
            prop_assert!(score_milli(&cases, &s, t1 + dt) <= score_milli(&cases, &s, t1));
        }

        #[test]
        fn decay_is_linear_until_it_reaches_zero(
            points in 1u32..=20, rate in 1u32..=5_000, days in 0i64..100
        ) {
            let c = case(points, 0, Status::Active);
            let expected = (i64::from(points) * MILLI - i64::from(rate) * days).max(0);
            prop_assert_eq!(remaining_milli(&c, rate, days * DAY_SECS), expected);
        }

        #[test]
        fn a_pardon_never_raises_the_score(cases in arb_cases(), pick in 0usize..12, now in 0i64..800 * DAY_SECS) {
            let s = settings();
            let before = score_milli(&cases, &s, now);
            let mut after_cases = cases.clone();
            if let Some(c) = after_cases.get_mut(pick) {
                c.status = Status::Pardoned;
            }
            prop_assert!(score_milli(&after_cases, &s, now) <= before);
        }

        #[test]
        fn recommendations_are_monotonic_in_the_score(a in 0i64..40_000, b in 0i64..40_000) {
            let s = settings();
            let (low, high) = (a.min(b), a.max(b));
            let sev = |score| reached(&s, score).map(|t| t.action.severity());
            prop_assert!(sev(low) <= sev(high));
            // And a recommendation is always stronger than what was given.
            for given in [Kind::Note, Kind::Warning, Kind::Mute, Kind::Kick, Kind::TempBan, Kind::Ban] {
                if let Some(t) = recommendation(&s, high, given) {
                    prop_assert!(t.action.severity() > given.severity());
                    prop_assert!(i64::from(t.points) * MILLI <= high);
                }
            }
        }

        #[test]
        fn falls_below_at_is_the_first_second_below(cases in arb_cases(), points in 1u32..30, rate in 1u32..=2_000) {
            let mut s = settings();
            s.decay_milli_per_day = rate;
            let now = 0;
            if let Some(at) = falls_below_at(&cases, &s, points, now) {
                prop_assert!(score_milli(&cases, &s, at) < i64::from(points) * MILLI);
                prop_assert!(score_milli(&cases, &s, at - 1) >= i64::from(points) * MILLI);
            } else {
                prop_assert!(score_milli(&cases, &s, now) < i64::from(points) * MILLI);
            }
        }
    }
}
