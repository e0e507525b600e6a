//! Where a part is, and which events are impossible for one physical part.
//!
//! A code's custody follows from its events. [`transition`] decides what a new event does to it:
//! applies it, notes it as a repeat (a second intake scan), or calls it a **conflict**: an event no
//! single physical part could produce, such as an install into a second vehicle. A conflict is
//! evidence of a cloned label; the registry records it, leaves custody as it was, and flags the code.
//!
//! The rules are deliberately lenient where real supply chains skip scans (a factory that never
//! records shipping, a carton received by a different branch) and strict where only a copy explains
//! the events.

use signer::Timestamp;

use crate::event::Action;
use crate::party::PartyId;
use crate::vin::Vin;

/// Where the part is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Custody {
    /// Registered, and nothing recorded since: at its manufacturer, or in untracked hands. The first
    /// party to record an event takes it over (factories rarely scan outgoing cartons).
    AtManufacturer,
    Held {
        by: PartyId,
    },
    InTransit {
        from: PartyId,
        to: PartyId,
    },
    Installed {
        vin: Vin,
        by: PartyId,
    },
    Destroyed,
    /// Decommissioned by the manufacturer: no genuine part carries the code.
    Voided,
}

impl Custody {
    pub fn name(&self) -> &'static str {
        match self {
            Custody::AtManufacturer => "at_manufacturer",
            Custody::Held { .. } => "held",
            Custody::InTransit { .. } => "in_transit",
            Custody::Installed { .. } => "installed",
            Custody::Destroyed => "destroyed",
            Custody::Voided => "voided",
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Custody::Destroyed | Custody::Voided)
    }
}

/// Custody with the event that established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustodyState {
    pub custody: Custody,
    pub since: Timestamp,
    /// The sequence number of the event that set `custody`.
    pub event: u32,
}

/// Why an event is impossible for one physical part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConflictKind {
    /// Installed into a vehicle while installed in a different one.
    InstalledInAnotherVehicle,
    /// Received or shipped while installed in a vehicle and never removed.
    StillInstalled,
    /// Any event on a destroyed code.
    AfterDestroyed,
    /// Any event on a voided code.
    AfterVoided,
    /// A party acted on a part that another party holds, with no shipment between them.
    HeldByAnother,
    /// Removed from a vehicle while not installed in any.
    NotInstalled,
}

impl ConflictKind {
    const ALL: [ConflictKind; 6] = [
        ConflictKind::InstalledInAnotherVehicle,
        ConflictKind::StillInstalled,
        ConflictKind::AfterDestroyed,
        ConflictKind::AfterVoided,
        ConflictKind::HeldByAnother,
        ConflictKind::NotInstalled,
    ];

    /// Stable machine code.
    pub fn code(self) -> &'static str {
        match self {
            ConflictKind::InstalledInAnotherVehicle => "installed_in_another_vehicle",
            ConflictKind::StillInstalled => "still_installed",
            ConflictKind::AfterDestroyed => "after_destroyed",
            ConflictKind::AfterVoided => "after_voided",
            ConflictKind::HeldByAnother => "held_by_another_party",
            ConflictKind::NotInstalled => "removed_but_not_installed",
        }
    }

    pub(crate) fn tag(self) -> u8 {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8 + 1
    }

    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.get(usize::from(tag).checked_sub(1)?).copied()
    }

    /// What the conflict means, for a shop or a car owner. It names no vehicle and no party, so it
    /// can be shown to anyone. `since` is when the contradicted custody began, `at` when the
    /// conflicting event came in.
    pub fn explain(self, since: Timestamp, at: Timestamp) -> String {
        let since = date(since);
        let at = date(at);
        match self {
            ConflictKind::InstalledInAnotherVehicle => format!(
                "On {at} this code was scanned for fitting to a vehicle, but it has been installed in \
                 a different vehicle since {since}. One part cannot be in two vehicles: one of them \
                 carries a copied label."
            ),
            ConflictKind::StillInstalled => format!(
                "On {at} this code was scanned as moving between businesses, but it has been installed \
                 in a vehicle since {since} and was never removed. A part with this label outside \
                 that vehicle carries a copied label."
            ),
            ConflictKind::AfterDestroyed => format!(
                "This code was recorded as destroyed on {since}, yet it was scanned again on {at}. \
                 Any part carrying it now carries a copied label."
            ),
            ConflictKind::AfterVoided => format!(
                "The manufacturer voided this code on {since}, yet it was scanned on {at}. No \
                 genuine part carries a voided code."
            ),
            ConflictKind::HeldByAnother => format!(
                "On {at} a business recorded this part, but another business has held it since \
                 {since} and never shipped it. One part cannot be in two places: one of them \
                 carries a copied label."
            ),
            ConflictKind::NotInstalled => format!(
                "On {at} a shop recorded removing this part from a vehicle, but it was not \
                 installed in any vehicle (custody since {since}). A part fitted somewhere \
                 unrecorded may carry a copied label."
            ),
        }
    }
}

/// `2026-10-03`: dates, not times, in explanations people read.
pub fn date(t: Timestamp) -> String {
    t.date()
}

/// What an event does to custody.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    Applied(Custody),
    Repeated,
    Conflict(ConflictKind),
}

/// Decides what a custody-moving action (ship, receive, install, remove, destroy, decommission) does
/// to a code held as `current`. `actor` is the party recording it. Who may decommission is checked
/// by the caller; here every action is judged only on whether one physical part could do it.
pub fn transition(current: &Custody, actor: &PartyId, action: &Action) -> Transition {
    use Custody::*;
    use Transition::{Applied, Conflict, Repeated};
    match current {
        Destroyed => return Conflict(ConflictKind::AfterDestroyed),
        Voided => return Conflict(ConflictKind::AfterVoided),
        _ => {}
    }
    let holds = |by: &PartyId| by == actor;
    match action {
        Action::Decommission { .. } => Applied(Voided),
        Action::Ship { to } => match current {
            AtManufacturer => Applied(InTransit {
                from: actor.clone(),
                to: to.clone(),
            }),
            Held { by } if holds(by) => Applied(InTransit {
                from: actor.clone(),
                to: to.clone(),
            }),
            // The addressee sending it on without an intake scan, or the sender changing the address.
            InTransit { from, to: dest } if holds(dest) || holds(from) => Applied(InTransit {
                from: actor.clone(),
                to: to.clone(),
            }),
            Installed { .. } => Conflict(ConflictKind::StillInstalled),
            _ => Conflict(ConflictKind::HeldByAnother),
        },
        Action::Receive => match current {
            Held { by } if holds(by) => Repeated,
            Held { .. } => Conflict(ConflictKind::HeldByAnother),
            // A receiver other than the addressee is a misrouted carton, not a copy: if the
            // addressee later records the same part, that is the conflict.
            AtManufacturer | InTransit { .. } => Applied(Held { by: actor.clone() }),
            Installed { .. } => Conflict(ConflictKind::StillInstalled),
            Destroyed | Voided => Repeated, // unreachable: handled above
        },
        Action::Install { vin } => match current {
            Installed {
                vin: current_vin, ..
            } if current_vin == vin => Repeated,
            Installed { .. } => Conflict(ConflictKind::InstalledInAnotherVehicle),
            Held { by } if !holds(by) => Conflict(ConflictKind::HeldByAnother),
            _ => Applied(Installed {
                vin: *vin,
                by: actor.clone(),
            }),
        },
        Action::Remove => match current {
            Installed { .. } => Applied(Held { by: actor.clone() }),
            _ => Conflict(ConflictKind::NotInstalled),
        },
        Action::Destroy { .. } => match current {
            Held { by } | Installed { by, .. } if !holds(by) => {
                Conflict(ConflictKind::HeldByAnother)
            }
            _ => Applied(Destroyed),
        },
        // Recalls, corrections and resolutions do not move the part; the registry handles them.
        Action::Recall { .. } | Action::Correct { .. } | Action::Resolve { .. } => Repeated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str) -> PartyId {
        PartyId::parse(id).unwrap()
    }
    fn vin(n: usize) -> Vin {
        Vin::parse(["1M8GDM9AXKP042788", "LSVAU218XN2183294"][n]).unwrap()
    }

    #[test]
    fn the_normal_path_applies() {
        let shop = p("shop");
        let mut c = Custody::AtManufacturer;
        for (actor, action) in [
            (p("maker"), Action::Ship { to: p("dist") }),
            (p("dist"), Action::Receive),
            (p("dist"), Action::Ship { to: shop.clone() }),
            (shop.clone(), Action::Receive),
            (shop.clone(), Action::Install { vin: vin(0) }),
            (p("shop2"), Action::Remove),
            (
                p("shop2"),
                Action::Destroy {
                    reason: "worn".into(),
                },
            ),
        ] {
            match transition(&c, &actor, &action) {
                Transition::Applied(next) => c = next,
                other => panic!("{action:?} by {actor} on {c:?}: {other:?}"),
            }
        }
        assert_eq!(c, Custody::Destroyed);
    }

    #[test]
    fn impossible_events_are_conflicts() {
        let installed = Custody::Installed {
            vin: vin(0),
            by: p("shop"),
        };
        let cases = [
            (
                installed.clone(),
                Action::Install { vin: vin(1) },
                ConflictKind::InstalledInAnotherVehicle,
            ),
            (
                installed.clone(),
                Action::Receive,
                ConflictKind::StillInstalled,
            ),
            (
                installed.clone(),
                Action::Ship { to: p("x") },
                ConflictKind::StillInstalled,
            ),
            (
                Custody::Destroyed,
                Action::Receive,
                ConflictKind::AfterDestroyed,
            ),
            (
                Custody::Voided,
                Action::Install { vin: vin(0) },
                ConflictKind::AfterVoided,
            ),
            (
                Custody::Held { by: p("shop") },
                Action::Receive,
                ConflictKind::HeldByAnother,
            ),
            (
                Custody::Held { by: p("shop") },
                Action::Install { vin: vin(1) },
                ConflictKind::HeldByAnother,
            ),
            (
                Custody::Held { by: p("other") },
                Action::Remove,
                ConflictKind::NotInstalled,
            ),
        ];
        for (state, action, kind) in cases {
            assert_eq!(
                transition(&state, &p("other"), &action),
                Transition::Conflict(kind),
                "{action:?} on {state:?}"
            );
        }
    }

    #[test]
    fn repeats_are_not_conflicts() {
        let installed = Custody::Installed {
            vin: vin(0),
            by: p("shop"),
        };
        assert_eq!(
            transition(&installed, &p("shop"), &Action::Install { vin: vin(0) }),
            Transition::Repeated
        );
        assert_eq!(
            transition(
                &Custody::Held { by: p("shop") },
                &p("shop"),
                &Action::Receive
            ),
            Transition::Repeated
        );
    }

    #[test]
    fn explanations_name_no_vehicle_or_party_and_tags_round_trip() {
        for kind in ConflictKind::ALL {
            assert_eq!(ConflictKind::from_tag(kind.tag()), Some(kind));
            let text = kind.explain(Timestamp(1_790_000_000), Timestamp(1_791_000_000));
            assert!(text.contains("2026-"), "{text}");
            assert!(!text.contains("shop-") && !text.contains("VIN"), "{text}");
        }
        assert_eq!(ConflictKind::from_tag(0), None);
        assert_eq!(ConflictKind::from_tag(7), None);
    }
}
