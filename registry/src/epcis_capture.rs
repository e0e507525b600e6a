//! EPCIS 2.0 capture: how the events of a partner's `EPCISDocument` map onto the custody rules.
//!
//! This first piece names the parties: a party's EPCIS id is what a partner's system writes in a
//! `destinationList` entry of type `owning_party` to name the addressee of a shipment. Parties
//! register no GLN today, so the id is the stable service URI `{base}/parties/{id}`; the
//! `urn:partseal:party:{id}` form the history export writes ([`PARTY_URN`]) is read as the same
//! party, so an exported document captured elsewhere still names its parties.

use signer::BaseUrl;

use crate::epcis::PARTY_URN;
use crate::party::PartyId;

/// A party's EPCIS id under the service at `base`: `{base}/parties/{id}`.
pub fn party_epcis_id(base: &BaseUrl, party: &PartyId) -> String {
    format!("{}/parties/{party}", base.as_str())
}

/// The party an EPCIS id names (`{base}/parties/{id}` or `urn:partseal:party:{id}`); `None` for
/// anything else, such as another service's URI or a GLN no party registered.
pub fn party_of_epcis_id(base: &BaseUrl, uri: &str) -> Option<PartyId> {
    let prefix = format!("{}/parties/", base.as_str());
    let id = uri
        .strip_prefix(prefix.as_str())
        .or_else(|| uri.strip_prefix(PARTY_URN))?;
    PartyId::parse(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partys_epcis_id_names_it_back() {
        let base = BaseUrl::parse("https://verify.example.cn/").unwrap();
        let shop = PartyId::parse("shop-1").unwrap();
        let id = party_epcis_id(&base, &shop);
        assert_eq!(id, "https://verify.example.cn/parties/shop-1");
        assert_eq!(party_of_epcis_id(&base, &id), Some(shop.clone()));
        assert_eq!(
            party_of_epcis_id(&base, "urn:partseal:party:shop-1"),
            Some(shop)
        );
        for other in [
            "https://elsewhere.example/parties/shop-1",
            "https://verify.example.cn/parties/",
            "https://verify.example.cn/parties/a/b",
            "urn:epc:id:pgln:0614141.00000",
        ] {
            assert_eq!(party_of_epcis_id(&base, other), None, "{other}");
        }
    }
}
