//! Where a part is, who may move it, and which events are impossible for one physical part.
//!
//! A code's custody follows from its events. [`decide`] judges a new event by the custody it finds,
//! how the actor relates to the part ([`Relation`]) and how the actor named the code ([`Basis`]):
//!
//! - **Only the holder changes the part's state**: the party holding it ships, installs and destroys
//!   it; the party it was shipped to receives it; a shop that has the car in its workshop removes it
//!   by naming the VIN it is recorded in and scanning its label. Where a step implies an unrecorded
//!   one (a distributor that never scans parts in ships them on; a shop installs a part fresh from
//!   its maker), what one physical part could do is accepted.
//! - **A scanned label where the part cannot be is evidence**: receiving or installing a part held
//!   elsewhere, installed in another vehicle, destroyed or voided, with the signed code, is a
//!   [`Decision::Evidence`] of a second label and flags the code.
//! - **Typed numbers prove nothing physical**: the same event with typed numbers is a
//!   [`Decision::Claim`], kept for the manufacturer without effect.
//! - **A non-holder's ship, remove or destroy is refused** ([`Decision::Refuse`]) and kept as a claim.
//!
//! `docs/custody-rules.md` is the whole table, and `registry/tests/custody_rules.rs` checks every
//! cell of it against the registry.

use signer::Timestamp;

use crate::event::{Action, Basis};
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
    /// Every kind, in the order of their stored tags.
    pub const ALL: [ConflictKind; 6] = [
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
                "On {at} a business recorded removing this part from a vehicle, but it is not \
                 recorded in any vehicle (custody since {since}). Only the part's holder moves it: \
                 the attempt was kept for the manufacturer."
            ),
        }
    }
}

/// `2026-10-03`: dates, not times, in explanations people read.
pub fn date(t: Timestamp) -> String {
    t.date()
}

/// How the acting party stands to the part, as far as the registry knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    /// Holds the part: the party it was last received by, or its manufacturer before any event.
    Holder,
    /// Shipped the part, which is in transit.
    Sender,
    /// The party the part is in transit to.
    Addressee,
    /// The shop that installed the part in the vehicle it is in.
    Installer,
    /// Another party naming the vehicle the part is recorded in (a shop with the car in its
    /// workshop).
    VehicleShop,
    /// The part's manufacturer, holding it no more.
    Manufacturer,
    /// Anyone else.
    Other,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Holder => "holder",
            Relation::Sender => "sender",
            Relation::Addressee => "addressee",
            Relation::Installer => "installer",
            Relation::VehicleShop => "vehicle_shop",
            Relation::Manufacturer => "manufacturer",
            Relation::Other => "other",
        }
    }
}

/// How `actor` relates to a part in `current` custody, made by `manufacturer`, given the vehicle
/// `action` names (an install's or a removal's VIN).
pub fn relation(
    current: &Custody,
    manufacturer: &PartyId,
    actor: &PartyId,
    action: &Action,
) -> Relation {
    let named_vin = match action {
        Action::Install { vin } | Action::Remove { vin: Some(vin) } => Some(vin),
        _ => None,
    };
    match current {
        Custody::AtManufacturer if actor == manufacturer => Relation::Holder,
        Custody::Held { by } if by == actor => Relation::Holder,
        Custody::InTransit { to, .. } if to == actor => Relation::Addressee,
        Custody::InTransit { from, .. } if from == actor => Relation::Sender,
        Custody::Installed { by, .. } if by == actor => Relation::Installer,
        Custody::Installed { vin, .. } if named_vin == Some(vin) => Relation::VehicleShop,
        _ if actor == manufacturer => Relation::Manufacturer,
        _ => Relation::Other,
    }
}

/// What the rules make of a custody event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The part moves: custody becomes this.
    Apply(Custody),
    /// The event repeats the current custody (a second intake scan): recorded, nothing changes.
    Repeat,
    /// Impossible for one physical part, with the label scanned: recorded, the code flagged.
    Evidence(ConflictKind),
    /// The same with typed numbers, or an unsupported takeover: kept for the manufacturer, no effect.
    Claim(ConflictKind),
    /// A ship, remove or destroy by a non-holder: the caller is refused (`not_holder`); the
    /// attempt is kept as a claim for the manufacturer.
    Refuse(ConflictKind),
}

/// Judges a custody-moving action (ship, receive, install, remove, destroy) on a code in `current`
/// custody by an actor standing in `relation` to it, who named the code by `basis`.
///
/// Decommissioning, recalls, corrections and resolutions are the manufacturer's or the author's
/// and are judged by the registry; here they change nothing.
pub fn decide(
    current: &Custody,
    relation: Relation,
    actor: &PartyId,
    action: &Action,
    basis: Basis,
) -> Decision {
    use Decision::{Apply, Claim, Evidence, Refuse, Repeat};
    use Relation::*;
    let scanned = basis != Basis::Typed;
    // A label seen where the part cannot be: evidence when scanned, a claim when typed.
    let seen = |kind| if scanned { Evidence(kind) } else { Claim(kind) };
    let held = || Custody::Held { by: actor.clone() };
    let shipped = |to: &PartyId| Custody::InTransit {
        from: actor.clone(),
        to: to.clone(),
    };
    let installed = |vin: &Vin| Custody::Installed {
        vin: *vin,
        by: actor.clone(),
    };
    match current {
        Custody::Destroyed | Custody::Voided => {
            let kind = if *current == Custody::Destroyed {
                ConflictKind::AfterDestroyed
            } else {
                ConflictKind::AfterVoided
            };
            match action {
                Action::Receive | Action::Install { .. } => seen(kind),
                Action::Ship { .. } | Action::Remove { .. } | Action::Destroy { .. } => {
                    Refuse(kind)
                }
                _ => Repeat,
            }
        }
        Custody::AtManufacturer => match (action, relation) {
            (Action::Ship { to }, Holder) => Apply(shipped(to)),
            (Action::Receive, Holder) => Repeat,
            (Action::Install { vin }, Holder) => Apply(installed(vin)),
            (Action::Destroy { .. }, Holder) => Apply(Custody::Destroyed),
            // Factories rarely scan outgoing cartons: a party with the label in hand took it
            // over through an unrecorded shipment. Typed numbers do not show a part in hand.
            (Action::Ship { to }, _) if scanned => Apply(shipped(to)),
            (Action::Receive, _) if scanned => Apply(held()),
            (Action::Install { vin }, _) if scanned => Apply(installed(vin)),
            (Action::Receive | Action::Install { .. }, _) => Claim(ConflictKind::HeldByAnother),
            (Action::Remove { .. }, _) => Refuse(ConflictKind::NotInstalled),
            _ => Refuse(ConflictKind::HeldByAnother),
        },
        Custody::Held { .. } => match (action, relation) {
            (Action::Ship { to }, Holder) => Apply(shipped(to)),
            (Action::Receive, Holder) => Repeat,
            (Action::Install { vin }, Holder) => Apply(installed(vin)),
            (Action::Destroy { .. }, Holder) => Apply(Custody::Destroyed),
            (Action::Receive | Action::Install { .. }, _) => seen(ConflictKind::HeldByAnother),
            (Action::Remove { .. }, _) => Refuse(ConflictKind::NotInstalled),
            _ => Refuse(ConflictKind::HeldByAnother),
        },
        Custody::InTransit { .. } => match (action, relation) {
            // The addressee sends it on without an intake scan, or the sender re-addresses it.
            (Action::Ship { to }, Addressee | Sender) => Apply(shipped(to)),
            (Action::Receive, Addressee | Sender) => Apply(held()),
            (Action::Install { vin }, Addressee) => Apply(installed(vin)),
            (Action::Destroy { .. }, Addressee) => Apply(Custody::Destroyed),
            // A carton delivered to the wrong business is misrouted, not copied: if the
            // addressee later records the same part, that is the conflict.
            (Action::Receive, _) if scanned => Apply(held()),
            (Action::Install { vin }, _) if scanned => Apply(installed(vin)),
            (Action::Receive | Action::Install { .. }, _) => Claim(ConflictKind::HeldByAnother),
            (Action::Remove { .. }, _) => Refuse(ConflictKind::NotInstalled),
            _ => Refuse(ConflictKind::HeldByAnother),
        },
        Custody::Installed {
            vin: current_vin, ..
        } => match (action, relation) {
            (Action::Install { vin }, _) if vin == current_vin => Repeat,
            (Action::Install { .. }, _) => seen(ConflictKind::InstalledInAnotherVehicle),
            (Action::Receive, _) => seen(ConflictKind::StillInstalled),
            // The installer took it out: a removal it did not record (a warranty return).
            (Action::Ship { to }, Installer) => Apply(shipped(to)),
            (Action::Destroy { .. }, Installer) => Apply(Custody::Destroyed),
            (Action::Remove { .. }, Installer) => Apply(held()),
            // Cars change shops: the one with the car names its VIN and scans the label.
            (Action::Remove { .. }, VehicleShop) if scanned => Apply(held()),
            _ => Refuse(ConflictKind::StillInstalled),
        },
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

    /// Judges `action` by `actor` as the registry would.
    fn judge(current: &Custody, actor: &str, action: &Action, basis: Basis) -> Decision {
        let actor = p(actor);
        let rel = relation(current, &p("maker"), &actor, action);
        decide(current, rel, &actor, action, basis)
    }

    #[test]
    fn the_normal_path_applies() {
        let mut c = Custody::AtManufacturer;
        for (actor, action) in [
            ("maker", Action::Ship { to: p("dist") }),
            ("dist", Action::Receive),
            ("dist", Action::Ship { to: p("shop") }),
            ("shop", Action::Receive),
            ("shop", Action::Install { vin: vin(0) }),
            ("shop2", Action::Remove { vin: Some(vin(0)) }),
            (
                "shop2",
                Action::Destroy {
                    reason: "worn".into(),
                },
            ),
        ] {
            match judge(&c, actor, &action, Basis::Scanned) {
                Decision::Apply(next) => c = next,
                other => panic!("{action:?} by {actor} on {c:?}: {other:?}"),
            }
        }
        assert_eq!(c, Custody::Destroyed);
    }

    #[test]
    fn relations_follow_custody() {
        let installed = Custody::Installed {
            vin: vin(0),
            by: p("shop"),
        };
        let remove = |v| Action::Remove { vin: Some(vin(v)) };
        assert_eq!(
            relation(&installed, &p("maker"), &p("shop"), &remove(1)),
            Relation::Installer
        );
        assert_eq!(
            relation(&installed, &p("maker"), &p("shop2"), &remove(0)),
            Relation::VehicleShop
        );
        assert_eq!(
            relation(&installed, &p("maker"), &p("shop2"), &remove(1)),
            Relation::Other
        );
        assert_eq!(
            relation(&installed, &p("maker"), &p("maker"), &Action::Receive),
            Relation::Manufacturer
        );
        let transit = Custody::InTransit {
            from: p("a"),
            to: p("b"),
        };
        assert_eq!(
            relation(&transit, &p("maker"), &p("b"), &Action::Receive),
            Relation::Addressee
        );
        assert_eq!(
            relation(&transit, &p("maker"), &p("a"), &Action::Receive),
            Relation::Sender
        );
        assert_eq!(
            relation(
                &Custody::AtManufacturer,
                &p("maker"),
                &p("maker"),
                &Action::Receive
            ),
            Relation::Holder
        );
    }

    #[test]
    fn typed_numbers_never_flag_and_non_holders_never_move_a_part() {
        let held = Custody::Held { by: p("shop") };
        assert_eq!(
            judge(&held, "other", &Action::Receive, Basis::Scanned),
            Decision::Evidence(ConflictKind::HeldByAnother)
        );
        assert_eq!(
            judge(&held, "other", &Action::Receive, Basis::Typed),
            Decision::Claim(ConflictKind::HeldByAnother)
        );
        for basis in [Basis::Scanned, Basis::Typed] {
            let destroy = Action::Destroy { reason: "x".into() };
            assert_eq!(
                judge(&Custody::AtManufacturer, "other", &destroy, basis),
                Decision::Refuse(ConflictKind::HeldByAnother)
            );
            assert_eq!(
                judge(&held, "other", &Action::Remove { vin: None }, basis),
                Decision::Refuse(ConflictKind::NotInstalled)
            );
        }
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
