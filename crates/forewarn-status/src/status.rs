//! What the status page says about each component and the platform as a whole, derived from
//! the posts at a given time: an open incident makes its components degraded, partial or
//! major outage by its impact until it is resolved; a maintenance in progress makes its
//! components "under maintenance". Nothing of it is stored: a status set by an operator and
//! the derived one combine as the worse of the two, so resolving the incident or ending the
//! maintenance gives the component back its own status. Pure.

use jiff::Timestamp;

use crate::post::{Component, ComponentStatus, Impact, Post, PostKind, PostState};

/// Whether an incident is open at `now`: posted by then and not resolved.
pub fn open_incident(p: &Post, now: Timestamp) -> bool {
    p.kind == PostKind::Incident && !p.state.is_final() && p.created <= now
}

/// Whether a maintenance is in progress at `now`: marked so, or scheduled and its window
/// holds `now` (an open end holds every time after the start).
pub fn maintenance_in_progress(p: &Post, now: Timestamp) -> bool {
    p.kind == PostKind::Maintenance
        && match p.state {
            PostState::InProgress => true,
            PostState::Scheduled => p.starts.is_some_and(|s| s <= now) && p.ends.is_none_or(|e| now < e),
            _ => false,
        }
}

/// What a post makes of the components it names at `now`; `Operational` when nothing.
pub fn post_status(p: &Post, now: Timestamp) -> ComponentStatus {
    if open_incident(p, now) {
        p.impact.status()
    } else if maintenance_in_progress(p, now) {
        ComponentStatus::Maintenance
    } else {
        ComponentStatus::Operational
    }
}

/// What the posts naming component `id` make of it at `now` (the worst of them), ignoring
/// what was set by hand.
pub fn derived(id: &str, posts: &[Post], now: Timestamp) -> ComponentStatus {
    posts
        .iter()
        .filter(|p| p.components.iter().any(|c| c == id))
        .map(|p| post_status(p, now))
        .max()
        .unwrap_or(ComponentStatus::Operational)
}

/// The components as the status page shows them at `now`: each one's status is the worse of
/// the one set by hand (stored) and what the posts naming it make of it ([`derived`]).
pub fn effective(components: &[Component], posts: &[Post], now: Timestamp) -> Vec<Component> {
    let active: Vec<&Post> = posts
        .iter()
        .filter(|p| !p.components.is_empty() && post_status(p, now) != ComponentStatus::Operational)
        .collect();
    components
        .iter()
        .map(|c| {
            let derived = active
                .iter()
                .filter(|p| p.components.contains(&c.id))
                .map(|p| post_status(p, now))
                .max()
                .unwrap_or(ComponentStatus::Operational);
            Component { status: c.status.max(derived), ..c.clone() }
        })
        .collect()
}

/// How the platform is doing at `now`, for the banner: the worst status of the `components`
/// (as [`effective`] gives them), and of every open incident and maintenance in progress,
/// also those that name no component (an open incident of impact minor or more never leaves
/// the banner green).
pub fn overall(components: &[Component], posts: &[Post], now: Timestamp) -> ComponentStatus {
    let from_posts = posts.iter().map(|p| post_status(p, now));
    components.iter().map(|c| c.status).chain(from_posts).max().unwrap_or(ComponentStatus::Operational)
}

/// An incident's impact as words, for pages: "minor impact".
pub fn impact_label(i: Impact) -> &'static str {
    match i {
        Impact::None => "no impact",
        Impact::Minor => "minor impact",
        Impact::Major => "major impact",
        Impact::Critical => "critical impact",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, ts};

    fn by_id(components: &[Component]) -> Vec<(&str, ComponentStatus)> {
        components.iter().map(|c| (c.id.as_str(), c.status)).collect()
    }

    fn operational() -> Vec<Component> {
        testing::components().into_iter().map(|c| Component { status: ComponentStatus::Operational, ..c }).collect()
    }

    fn incident(impact: Impact, state: PostState, components: &[&str]) -> Post {
        let mut p = testing::posts().remove(5);
        assert_eq!(p.kind, PostKind::Incident);
        p.impact = impact;
        p.state = state;
        p.components = components.iter().map(|c| c.to_string()).collect();
        p
    }

    #[test]
    fn an_open_incident_marks_its_components_by_impact_until_it_is_resolved() {
        use ComponentStatus::*;
        let now = testing::now();
        let components = operational();
        for (impact, status) in [(Impact::None, Operational), (Impact::Minor, Degraded), (Impact::Major, PartialOutage)]
        {
            let posts = [incident(impact, PostState::Investigating, &["object-storage", "dns"])];
            let shown = effective(&components, &posts, now);
            let changed: Vec<_> = by_id(&shown).into_iter().filter(|(_, s)| *s != Operational).collect();
            let expected: Vec<_> =
                if status == Operational { vec![] } else { vec![("object-storage", status), ("dns", status)] };
            assert_eq!(changed, expected, "{impact}");
            assert_eq!(overall(&shown, &posts, now), status, "{impact}");
        }
        let critical = [incident(Impact::Critical, PostState::Monitoring, &["dns"])];
        assert_eq!(effective(&components, &critical, now)[3].status, MajorOutage);
        assert_eq!(derived("dns", &critical, now), MajorOutage);
        assert_eq!(derived("rack-a1", &critical, now), Operational);
        // Resolved: back to what was set by hand, and the banner green.
        let resolved = [incident(Impact::Critical, PostState::Resolved, &["dns"])];
        assert_eq!(effective(&components, &resolved, now), components);
        assert_eq!(overall(&components, &resolved, now), Operational);
        // Not posted yet at `now`: nothing.
        let later = [Post { created: ts("2013-03-06T00:00:00Z"), ..critical[0].clone() }];
        assert_eq!(effective(&components, &later, now), components);
    }

    #[test]
    fn an_incident_without_components_still_colours_the_banner() {
        let posts = [incident(Impact::Minor, PostState::Identified, &[])];
        let now = testing::now();
        assert_eq!(effective(&operational(), &posts, now), operational());
        assert_eq!(overall(&operational(), &posts, now), ComponentStatus::Degraded);
    }

    #[test]
    fn maintenance_in_its_window_or_in_progress_marks_its_components() {
        use ComponentStatus::*;
        let components = operational();
        let mut p = testing::posts().remove(1); // Scheduled, 2013-03-09 09:00–13:00 UTC.
        p.components = vec!["vm-hosting".into(), "rack-a1".into()];
        let status_at = |p: &Post, t: &str| {
            let shown = effective(&components, std::slice::from_ref(p), ts(t));
            (shown[0].status, shown[4].status, shown[5].status)
        };
        assert_eq!(status_at(&p, "2013-03-09T08:59:59Z"), (Operational, Operational, Operational));
        assert_eq!(status_at(&p, "2013-03-09T09:00:00Z"), (Maintenance, Maintenance, Operational));
        assert_eq!(status_at(&p, "2013-03-09T12:59:59Z"), (Maintenance, Maintenance, Operational));
        assert_eq!(status_at(&p, "2013-03-09T13:00:00Z"), (Operational, Operational, Operational));
        // Marked in progress: from before its window to after it, until completed.
        p.state = PostState::InProgress;
        assert_eq!(status_at(&p, "2013-03-09T14:00:00Z"), (Maintenance, Maintenance, Operational));
        for state in [PostState::Completed, PostState::Cancelled] {
            p.state = state;
            assert_eq!(status_at(&p, "2013-03-09T10:00:00Z"), (Operational, Operational, Operational), "{state}");
        }
        p.state = PostState::InProgress;
        assert_eq!(overall(&components, std::slice::from_ref(&p), ts("2013-03-01T00:00:00Z")), Maintenance);
    }

    #[test]
    fn a_status_set_by_hand_and_the_derived_one_combine_as_the_worse() {
        use ComponentStatus::*;
        let now = testing::now();
        // The sample: vm-hosting set to maintenance, object-storage to partial outage.
        let components = testing::components();
        let posts =
            [incident(Impact::Minor, PostState::Investigating, &["vm-hosting", "object-storage", "web-frontends"])];
        let shown = effective(&components, &posts, now);
        assert_eq!(
            by_id(&shown)[..3],
            [("vm-hosting", Degraded), ("object-storage", PartialOutage), ("web-frontends", Degraded)]
        );
        // A maintenance and an incident on the same component: the incident is worse.
        let mut work = testing::posts().remove(0);
        assert_eq!(work.state, PostState::InProgress);
        work.components = vec!["dns".into()];
        let both = [work.clone(), incident(Impact::Major, PostState::Identified, &["dns"])];
        assert_eq!(effective(&operational(), &both, now)[3].status, PartialOutage);
        assert_eq!(effective(&operational(), &both[..1], now)[3].status, Maintenance);
    }
}
