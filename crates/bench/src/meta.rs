//! Realistic run contents: entity ids and names, and eight metadata keys of which some have few
//! values (so filters select a share of the runs) and some are nearly unique (like order ids).

use serde_json::{Value, json};

use crate::rng::Rng;

pub const REGIONS: [&str; 5] = ["north", "south", "east", "west", "central"];
pub const CHANNELS: [&str; 4] = ["web", "store", "phone", "partner"];
pub const TIERS: [&str; 3] = ["gold", "silver", "bronze"];
const SYSTEMS: [&str; 6] = [
    "sap",
    "navision",
    "salesforce",
    "dynamics",
    "legacy",
    "portal",
];
const FIRST: [&str; 12] = [
    "Anna", "Mads", "Sofie", "Lars", "Ida", "Jonas", "Emma", "Peter", "Freja", "Karl", "Maja",
    "Oskar",
];
const LAST: [&str; 10] = [
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Larsen", "Olsen", "Madsen", "Holm",
    "Berg",
];

/// The metadata keys every seeded run carries, low-cardinality ones first.
pub const KEYS: [&str; 8] = [
    "region",
    "channel",
    "priority",
    "tier",
    "source_system",
    "order_id",
    "amount",
    "reference",
];

/// The entity a run is about: one of `entities` customers, so each has several runs. The name
/// follows from the id, as it would for a real customer.
pub fn entity(rng: &mut Rng, entities: u64) -> (String, String) {
    let n = rng.below(entities.max(1));
    (format!("CUST-{n:08}"), entity_name(n))
}

fn entity_name(n: u64) -> String {
    let at = |list: &[&'static str], k: u64| {
        let i = usize::try_from(k % list.len().max(1) as u64).unwrap_or(0);
        list.get(i).copied().unwrap_or_default()
    };
    format!("{} {} {n}", at(&FIRST, n), at(&LAST, n / 7))
}

/// The metadata of run number `run` (unique per seed, so `order_id` is unique).
pub fn run_meta(rng: &mut Rng, run: u64) -> Value {
    json!({
        "region": rng.pick(&REGIONS),
        "channel": rng.pick(&CHANNELS),
        "priority": rng.between(1, 5),
        "tier": rng.pick(&TIERS),
        "source_system": rng.pick(&SYSTEMS),
        "order_id": format!("ORD-{run:09}"),
        "amount": rng.between(100, 999_999) as f64 / 100.0,
        "reference": format!("REF-{:012X}", rng.next_u64() & 0xFFFF_FFFF_FFFF),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_has_eight_keys_with_the_low_cardinality_values() {
        let mut rng = Rng::new(3);
        for run in 0..500 {
            let meta = run_meta(&mut rng, run);
            let obj = meta.as_object().cloned().unwrap_or_default();
            assert_eq!(obj.len(), 8);
            for key in KEYS {
                assert!(obj.contains_key(key), "{key} missing");
            }
            let region = meta["region"].as_str().unwrap_or_default();
            assert!(REGIONS.contains(&region));
            assert!((1..=5).contains(&meta["priority"].as_i64().unwrap_or(0)));
            assert_eq!(meta["order_id"], format!("ORD-{run:09}"));
        }
    }

    #[test]
    fn every_region_occurs_and_order_ids_are_unique() {
        let mut rng = Rng::new(9);
        let metas: Vec<Value> = (0..1000).map(|i| run_meta(&mut rng, i)).collect();
        for region in REGIONS {
            let n = metas.iter().filter(|m| m["region"] == region).count();
            assert!(n > 100, "{region}: {n}");
        }
        let mut ids: Vec<&str> = metas
            .iter()
            .filter_map(|m| m["order_id"].as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn an_entity_keeps_its_name() {
        let (mut a, mut b) = (Rng::new(5), Rng::new(5));
        let (id, name) = entity(&mut a, 10);
        assert_eq!(entity(&mut b, 10), (id.clone(), name.clone()));
        assert!(id.starts_with("CUST-0000000"));
        assert!(name.ends_with(&id[id.len() - 1..]));
    }
}
