//! IP geolocation. The embedded default is the `iptocc` crate: RIR delegation data compiled
//! into the binary, so lookups need no file, no network and no licence key.

use std::net::IpAddr;

use lessee_domain::Country;

/// Country of an IP address, when known.
pub trait GeoIp: Send + Sync + 'static {
    fn country(&self, ip: IpAddr) -> Option<Country>;
}

/// The embedded RIR-data geolocation (`iptocc`). It gives the country a block was delegated
/// to, which is where it is used for the great majority of addresses.
pub struct EmbeddedGeoIp;

impl GeoIp for EmbeddedGeoIp {
    fn country(&self, ip: IpAddr) -> Option<Country> {
        iptocc::country_code(ip).and_then(|cc| Country::parse(cc).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_addresses_geolocate_to_their_countries() {
        // The sign-up addresses of the shared fixtures, and the countries they are allocated to.
        let cases = [
            ("73.158.22.9", Some("US")),
            ("80.133.10.7", Some("DE")),
            ("81.2.69.160", Some("GB")),
            ("5.8.16.1", Some("RU")),
            ("116.88.3.4", Some("SG")),
            ("127.0.0.1", None),
            ("10.1.2.3", None),
        ];
        for (ip, want) in cases {
            let got = ip.parse().ok().and_then(|ip| EmbeddedGeoIp.country(ip)).map(|c| c.to_string());
            assert_eq!(got.as_deref(), want, "{ip}");
        }
    }
}
