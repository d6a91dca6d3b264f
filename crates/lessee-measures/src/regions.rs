//! The shipped named regions: jurisdictions that are not ISO 3166 countries (EO 13984 § 5: "a
//! country, subnational territory or region ... recognized or not"), each defined by ISO 3166-2
//! subdivision codes plus address rules: region and city names, in Latin and Cyrillic
//! spellings, that resolve an address to one of those subdivisions.
//!
//! Address rules apply to addresses stated in one of the region's `countries` (or with no
//! country): a Crimean address is often written as Russian. Names are compared folded
//! ([`crate::normalize::fold`]), with generic words (`oblast`, `republic`, `city`, `г.`, ...)
//! removed, so `Республика Крым`, `Republic of Crimea` and `Krym` are one name.
//!
//! The subdivision codes cover whole oblasts (`UA-14` is all of Donetsk Oblast); the city
//! lists name the main cities of the areas the region's name refers to. Which of them a measure
//! should reach is the compliance officer's call: a measure can target a subdivision directly.

use std::collections::HashMap;
use std::sync::OnceLock;

use lessee_domain::Country;

use crate::jurisdiction::{Subdivision, SubdivisionSource};
use crate::normalize::fold;

/// A name in an address rule: the name and the subdivision it resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressName {
    /// The name as written (any script, any case).
    pub name: &'static str,
    /// The ISO 3166-2 code it resolves to.
    pub subdivision: &'static str,
    /// Countries in which the name also names a place outside the region (`Donetsk` in
    /// Rostov Oblast, Russia): a match there is only a potential one.
    pub ambiguous_in: &'static [&'static str],
}

const fn n(name: &'static str, subdivision: &'static str) -> AddressName {
    AddressName { name, subdivision, ambiguous_in: &[] }
}

const fn ambiguous(
    name: &'static str,
    subdivision: &'static str,
    ambiguous_in: &'static [&'static str],
) -> AddressName {
    AddressName { name, subdivision, ambiguous_in }
}

/// A named region: id (used in measures), display name, subdivisions, address rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedRegion {
    /// The id a measure names: `{"region": "crimea"}`.
    pub id: &'static str,
    /// The display name.
    pub name: &'static str,
    /// ISO 3166-2 codes that make up the region.
    pub subdivisions: &'static [&'static str],
    /// Countries whose addresses the name rules apply to.
    pub countries: &'static [&'static str],
    /// Region (subdivision) names.
    pub region_names: &'static [AddressName],
    /// City names.
    pub cities: &'static [AddressName],
}

/// The shipped named regions.
pub const REGIONS: &[NamedRegion] = &[
    NamedRegion {
        id: "crimea",
        name: "Crimea",
        subdivisions: &["UA-43", "UA-40"],
        countries: &["UA", "RU"],
        region_names: &[
            n("Crimea", "UA-43"),
            n("Krym", "UA-43"),
            n("Qirim", "UA-43"),
            n("Крым", "UA-43"),
            n("Крим", "UA-43"),
            n("Autonomous Republic of Crimea", "UA-43"),
            n("Автономна Республіка Крим", "UA-43"),
            n("Республика Крым", "UA-43"),
            n("ARK", "UA-43"),
            n("АРК", "UA-43"),
            n("Sevastopol", "UA-40"),
            n("Sebastopol", "UA-40"),
            n("Севастополь", "UA-40"),
        ],
        cities: &[
            n("Simferopol", "UA-43"),
            n("Симферополь", "UA-43"),
            n("Сімферополь", "UA-43"),
            n("Aqmescit", "UA-43"),
            n("Kerch", "UA-43"),
            n("Керчь", "UA-43"),
            n("Керч", "UA-43"),
            n("Yalta", "UA-43"),
            n("Ялта", "UA-43"),
            n("Yevpatoria", "UA-43"),
            n("Evpatoria", "UA-43"),
            n("Yevpatoriya", "UA-43"),
            n("Евпатория", "UA-43"),
            n("Євпаторія", "UA-43"),
            n("Feodosia", "UA-43"),
            n("Feodosiya", "UA-43"),
            n("Феодосия", "UA-43"),
            n("Феодосія", "UA-43"),
            n("Dzhankoi", "UA-43"),
            n("Dzhankoy", "UA-43"),
            n("Джанкой", "UA-43"),
            n("Alushta", "UA-43"),
            n("Алушта", "UA-43"),
            n("Bakhchysarai", "UA-43"),
            n("Bakhchisaray", "UA-43"),
            n("Бахчисарай", "UA-43"),
            n("Бахчисарай", "UA-43"),
            n("Sudak", "UA-43"),
            n("Судак", "UA-43"),
            n("Armiansk", "UA-43"),
            n("Armyansk", "UA-43"),
            n("Армянск", "UA-43"),
            n("Армянськ", "UA-43"),
            n("Krasnoperekopsk", "UA-43"),
            n("Красноперекопск", "UA-43"),
            n("Sevastopol", "UA-40"),
            n("Sebastopol", "UA-40"),
            n("Севастополь", "UA-40"),
            n("Balaklava", "UA-40"),
            n("Балаклава", "UA-40"),
            n("Inkerman", "UA-40"),
            n("Инкерман", "UA-40"),
        ],
    },
    NamedRegion {
        id: "dnr",
        name: "the so-called Donetsk People's Republic",
        subdivisions: &["UA-14"],
        countries: &["UA", "RU"],
        region_names: &[
            n("Donetsk", "UA-14"),
            n("Donetska", "UA-14"),
            n("Donetskaya", "UA-14"),
            n("Донецкая", "UA-14"),
            n("Донецька", "UA-14"),
            n("Donetsk People's Republic", "UA-14"),
            n("Донецкая Народная Республика", "UA-14"),
            n("Донецька Народна Республіка", "UA-14"),
            n("DNR", "UA-14"),
            n("DPR", "UA-14"),
            n("ДНР", "UA-14"),
        ],
        cities: &[
            ambiguous("Donetsk", "UA-14", &["RU"]),
            ambiguous("Донецк", "UA-14", &["RU"]),
            n("Донецьк", "UA-14"),
            n("Makiivka", "UA-14"),
            n("Makeyevka", "UA-14"),
            n("Макеевка", "UA-14"),
            n("Макіївка", "UA-14"),
            n("Horlivka", "UA-14"),
            n("Gorlovka", "UA-14"),
            n("Горловка", "UA-14"),
            n("Горлівка", "UA-14"),
            n("Yenakiieve", "UA-14"),
            n("Yenakiyevo", "UA-14"),
            n("Enakievo", "UA-14"),
            n("Енакиево", "UA-14"),
            n("Єнакієве", "UA-14"),
            n("Khartsyzk", "UA-14"),
            n("Харцызск", "UA-14"),
            n("Харцизьк", "UA-14"),
            n("Shakhtarsk", "UA-14"),
            n("Shakhtyorsk", "UA-14"),
            n("Шахтёрск", "UA-14"),
            n("Шахтарськ", "UA-14"),
            n("Torez", "UA-14"),
            n("Торез", "UA-14"),
            n("Snizhne", "UA-14"),
            n("Snezhnoye", "UA-14"),
            n("Снежное", "UA-14"),
            n("Сніжне", "UA-14"),
            n("Debaltseve", "UA-14"),
            n("Debaltsevo", "UA-14"),
            n("Дебальцево", "UA-14"),
            n("Дебальцеве", "UA-14"),
            n("Mariupol", "UA-14"),
            n("Мариуполь", "UA-14"),
            n("Маріуполь", "UA-14"),
        ],
    },
    NamedRegion {
        id: "lnr",
        name: "the so-called Luhansk People's Republic",
        subdivisions: &["UA-09"],
        countries: &["UA", "RU"],
        region_names: &[
            n("Luhansk", "UA-09"),
            n("Lugansk", "UA-09"),
            n("Luhanska", "UA-09"),
            n("Luganskaya", "UA-09"),
            n("Луганская", "UA-09"),
            n("Луганська", "UA-09"),
            n("Luhansk People's Republic", "UA-09"),
            n("Lugansk People's Republic", "UA-09"),
            n("Луганская Народная Республика", "UA-09"),
            n("Луганська Народна Республіка", "UA-09"),
            n("LNR", "UA-09"),
            n("LPR", "UA-09"),
            n("ЛНР", "UA-09"),
        ],
        cities: &[
            n("Luhansk", "UA-09"),
            n("Lugansk", "UA-09"),
            n("Луганск", "UA-09"),
            n("Луганськ", "UA-09"),
            n("Alchevsk", "UA-09"),
            n("Алчевск", "UA-09"),
            n("Алчевськ", "UA-09"),
            n("Kadiivka", "UA-09"),
            n("Stakhanov", "UA-09"),
            n("Стаханов", "UA-09"),
            n("Кадіївка", "UA-09"),
            n("Khrustalnyi", "UA-09"),
            n("Krasnyi Luch", "UA-09"),
            n("Krasny Luch", "UA-09"),
            n("Красный Луч", "UA-09"),
            n("Antratsyt", "UA-09"),
            n("Antratsit", "UA-09"),
            n("Антрацит", "UA-09"),
            n("Rovenky", "UA-09"),
            n("Rovenki", "UA-09"),
            n("Ровеньки", "UA-09"),
            n("Sorokyne", "UA-09"),
            n("Krasnodon", "UA-09"),
            n("Краснодон", "UA-09"),
            n("Bryanka", "UA-09"),
            n("Брянка", "UA-09"),
            n("Sievierodonetsk", "UA-09"),
            n("Severodonetsk", "UA-09"),
            n("Северодонецк", "UA-09"),
            n("Сєвєродонецьк", "UA-09"),
            n("Lysychansk", "UA-09"),
            n("Lisichansk", "UA-09"),
            n("Лисичанск", "UA-09"),
            n("Лисичанськ", "UA-09"),
            ambiguous("Sverdlovsk", "UA-09", &["RU"]),
            ambiguous("Свердловск", "UA-09", &["RU"]),
            n("Dovzhansk", "UA-09"),
        ],
    },
];

/// The shipped region with this id.
pub fn region(id: &str) -> Option<&'static NamedRegion> {
    REGIONS.iter().find(|r| r.id == id)
}

/// The subdivisions of a named region, parsed. Entries of the shipped table all parse (a test
/// checks it); one that did not would be left out.
pub fn subdivisions(region: &NamedRegion) -> Vec<Subdivision> {
    region.subdivisions.iter().filter_map(|s| Subdivision::parse(s).ok()).collect()
}

/// Words that say what kind of place a name is rather than which: removed before comparing.
const GENERIC_WORDS: &[&str] = &[
    "oblast",
    "oblasti",
    "obl",
    "region",
    "province",
    "republic",
    "respublika",
    "respublica",
    "autonomous",
    "avtonomna",
    "avtonomnaya",
    "avtonomnaia",
    "people",
    "peoples",
    "narodnaya",
    "narodna",
    "of",
    "the",
    "city",
    "gorod",
    "misto",
    "g",
    "m",
    "federal",
    "krai",
];

fn key(name: &str) -> String {
    let folded = fold(name);
    folded.split(' ').filter(|w| !w.is_empty() && !GENERIC_WORDS.contains(w)).collect::<Vec<_>>().join(" ")
}

#[derive(Debug)]
struct Rule {
    subdivision: Subdivision,
    countries: Vec<Country>,
    ambiguous_in: Vec<Country>,
}

#[derive(Debug, Default)]
struct Resolver {
    region_names: HashMap<String, Vec<Rule>>,
    cities: HashMap<String, Vec<Rule>>,
}

fn resolver() -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| {
        let mut r = Resolver::default();
        let countries = |codes: &[&str]| codes.iter().filter_map(|c| Country::parse(c).ok()).collect::<Vec<_>>();
        for region in REGIONS {
            for (names, map) in [(region.region_names, &mut r.region_names), (region.cities, &mut r.cities)] {
                for name in names {
                    let Ok(subdivision) = Subdivision::parse(name.subdivision) else { continue };
                    let k = key(name.name);
                    if k.is_empty() {
                        continue;
                    }
                    map.entry(k).or_default().push(Rule {
                        subdivision,
                        countries: countries(region.countries),
                        ambiguous_in: countries(name.ambiguous_in),
                    });
                }
            }
        }
        r
    })
}

fn lookup(map: &HashMap<String, Vec<Rule>>, country: Option<Country>, text: &str) -> Option<(Subdivision, bool)> {
    let rules = map.get(&key(text))?;
    let rule = rules.iter().find(|r| country.is_none_or(|c| r.countries.contains(&c)))?;
    let ambiguous = country.is_some_and(|c| rule.ambiguous_in.contains(&c));
    Some((rule.subdivision, ambiguous))
}

/// Resolves a free-text region name of an address in `country`.
pub(crate) fn resolve_region_name(country: Option<Country>, text: &str) -> Option<(Subdivision, SubdivisionSource)> {
    lookup(&resolver().region_names, country, text).map(|(s, _)| (s, SubdivisionSource::RegionName))
}

/// Resolves the city of an address in `country`.
pub(crate) fn resolve_city(country: Option<Country>, city: &str) -> Option<(Subdivision, SubdivisionSource)> {
    lookup(&resolver().cities, country, city).map(|(s, ambiguous)| {
        (s, if ambiguous { SubdivisionSource::AmbiguousCityName } else { SubdivisionSource::CityName })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_entry_parses_and_belongs_to_its_region() {
        for region in REGIONS {
            assert_eq!(subdivisions(region).len(), region.subdivisions.len(), "{}", region.id);
            for c in region.countries {
                assert!(Country::parse(c).is_ok(), "{c}");
            }
            for name in region.region_names.iter().chain(region.cities) {
                assert!(region.subdivisions.contains(&name.subdivision), "{} {}", region.id, name.name);
                assert!(!key(name.name).is_empty(), "{} folds to nothing", name.name);
                for c in name.ambiguous_in {
                    assert!(Country::parse(c).is_ok(), "{c}");
                }
            }
        }
    }

    #[test]
    fn one_key_one_subdivision() {
        // Two regions must not claim the same name for different subdivisions.
        for map in [&resolver().region_names, &resolver().cities] {
            for (k, rules) in map {
                let first = rules.first().map(|r| r.subdivision);
                assert!(rules.iter().all(|r| Some(r.subdivision) == first), "{k}");
            }
        }
    }
}
