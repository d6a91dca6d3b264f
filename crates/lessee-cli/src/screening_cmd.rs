//! `lessee lists …`, `lessee screen …`, `lessee alerts …` (issue 6).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use lessee_service::screening::{DispositionRequest, ScreenItem, ScreenRequest, parse_list, parse_list_files};
use lessee_service::{Principal, RequestContext, Service};
use sha2::{Digest, Sha256};

use crate::exit::{self, Failure};
use crate::print_json;

/// Largest file `lists update` downloads.
const MAX_DOWNLOAD: usize = 128 * 1024 * 1024;

#[derive(Subcommand)]
pub enum ListsCmd {
    /// Import every list file recognised (by content) in DIR, or one FILE with --format.
    Import {
        path: PathBuf,
        /// `ofac_sdn`, `un`, `bis_dpl`, `csl` or `custom` (then PATH is one file).
        #[arg(long)]
        format: Option<String>,
        /// The name of a custom list (default: the list's kind).
        #[arg(long)]
        name: Option<String>,
    },
    /// Download the lists from their official sources (HTTPS; http only to localhost) and import them.
    Update(UpdateArgs),
    /// The imported list versions with their provenance.
    Show {
        #[arg(long)]
        list: Option<String>,
    },
    /// Entries added, removed and changed between two versions (default: the two latest).
    Diff {
        #[arg(long, default_value = "ofac_sdn")]
        list: String,
        from: Option<i64>,
        to: Option<i64>,
    },
}

#[derive(Args)]
pub struct UpdateArgs {
    #[arg(long, env = "LESSEE_OFAC_SDN_URL", default_value = "https://www.treasury.gov/ofac/downloads/sdn.csv")]
    ofac_sdn_url: String,
    #[arg(long, env = "LESSEE_OFAC_ALT_URL", default_value = "https://www.treasury.gov/ofac/downloads/alt.csv")]
    ofac_alt_url: String,
    #[arg(long, env = "LESSEE_OFAC_ADD_URL", default_value = "https://www.treasury.gov/ofac/downloads/add.csv")]
    ofac_add_url: String,
    #[arg(long, env = "LESSEE_UN_URL", default_value = "https://scsanctions.un.org/resources/xml/en/consolidated.xml")]
    un_url: String,
    #[arg(long, env = "LESSEE_BIS_DPL_URL", default_value = "https://www.bis.doc.gov/dpl/dpl.txt")]
    bis_dpl_url: String,
    #[arg(
        long,
        env = "LESSEE_CSL_URL",
        default_value = "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv"
    )]
    csl_url: String,
    /// Seconds allowed for each download.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

#[derive(Args)]
pub struct ScreenArgs {
    /// The name to screen (or --batch FILE.csv).
    name: Option<String>,
    #[arg(long)]
    dob: Option<String>,
    #[arg(long)]
    country: Option<String>,
    /// `individual` or `entity`.
    #[arg(long = "type")]
    party: Option<String>,
    /// One list only.
    #[arg(long)]
    list: Option<String>,
    /// A CSV with header `id,name` and optional `type,date_of_birth,country`: one NDJSON line per row.
    #[arg(long)]
    batch: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum AlertsCmd {
    /// Alerts (of one account, or by status).
    List {
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        status: Option<String>,
    },
    /// true_match, false_positive (with --reason) or escalate.
    Dispose {
        id: String,
        disposition: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub async fn lists(service: &Service, cmd: &ListsCmd) -> Result<(), Failure> {
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());
    match cmd {
        ListsCmd::Import { path, format, name } => {
            if path.is_dir() {
                if format.is_some() {
                    return Err(Failure::new(exit::USAGE, "--format takes one FILE, not a directory"));
                }
                let mut files = Vec::new();
                let mut entries: Vec<_> = std::fs::read_dir(path)
                    .map_err(|e| Failure::new(exit::NO_INPUT, format!("{}: {e}", path.display())))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect();
                entries.sort();
                for p in entries {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    files.push((name, read(&p)?));
                }
                let (lists, skipped) = parse_list_files(&files)?;
                for s in skipped {
                    eprintln!("skipped {s}: not a list format lessee recognises");
                }
                if lists.is_empty() {
                    return Err(Failure::new(exit::DATA, format!("{}: no list file recognised", path.display())));
                }
                for (file, source) in lists {
                    print_json(&service.import_list(&op, &ctx, file, None, &source).await?)?;
                }
                Ok(())
            } else {
                let bytes = read(path)?;
                let file = parse_list(format.as_deref(), &bytes)?;
                let source = format!("file:{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
                print_json(&service.import_list(&op, &ctx, file, name.as_deref(), &source).await?)
            }
        }
        ListsCmd::Update(args) => update(service, args).await,
        ListsCmd::Show { list } => {
            for v in service.list_versions(&op, list.as_deref()).await? {
                print_json(&v)?;
            }
            Ok(())
        }
        ListsCmd::Diff { list, from, to } => {
            if from.is_some() != to.is_some() {
                return Err(Failure::new(exit::USAGE, "give both FROM and TO, or neither"));
            }
            print_json(&service.list_diff(&op, list, *from, *to).await?)
        }
    }
}

fn read(p: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(p).map_err(|e| Failure::new(exit::NO_INPUT, format!("{}: {e}", p.display())))
}

/// Only HTTPS, except to this machine (tests serve the shared files over plain HTTP).
fn check_url(url: &str) -> Result<reqwest::Url, Failure> {
    let u = reqwest::Url::parse(url).map_err(|e| Failure::new(exit::USAGE, format!("{url}: {e}")))?;
    let local = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if u.scheme() == "https" || (u.scheme() == "http" && local) {
        Ok(u)
    } else {
        Err(Failure::new(
            exit::USAGE,
            format!("{url}: lists are downloaded over HTTPS (plain http only from localhost)"),
        ))
    }
}

async fn download(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, Failure> {
    let u = check_url(url)?;
    let unavailable = |e: String| Failure::new(exit::UNAVAILABLE, format!("download of {url} failed: {e}"));
    let mut resp = client.get(u).send().await.map_err(|e| unavailable(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(unavailable(format!("HTTP {}", resp.status())));
    }
    if resp.content_length().is_some_and(|n| n > MAX_DOWNLOAD as u64) {
        return Err(unavailable(format!("larger than {MAX_DOWNLOAD} bytes")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| unavailable(e.to_string()))? {
        if body.len() + chunk.len() > MAX_DOWNLOAD {
            return Err(unavailable(format!("larger than {MAX_DOWNLOAD} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn update(service: &Service, args: &UpdateArgs) -> Result<(), Failure> {
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .connect_timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| Failure::new(exit::INTERNAL, e.to_string()))?;
    let at = chrono::Utc::now().to_rfc3339();
    let provenance = |url: &str, bytes: &[u8]| format!("{url} at {at} sha256:{}", hex_sha(bytes));
    // Everything is downloaded and parsed before anything is imported.
    let sdn = download(&client, &args.ofac_sdn_url).await?;
    let alt = download(&client, &args.ofac_alt_url).await?;
    let add = download(&client, &args.ofac_add_url).await?;
    let mut lists = vec![(
        lessee_lists::parse_ofac(&sdn, Some(&alt), Some(&add)).map_err(|e| refused(&args.ofac_sdn_url, e))?,
        [
            provenance(&args.ofac_sdn_url, &sdn),
            provenance(&args.ofac_alt_url, &alt),
            provenance(&args.ofac_add_url, &add),
        ]
        .join("; "),
    )];
    for (url, format) in [(&args.un_url, "un"), (&args.bis_dpl_url, "bis_dpl"), (&args.csl_url, "csl")] {
        let bytes = download(&client, url).await?;
        let file =
            parse_list(Some(format), &bytes).map_err(|e| Failure::new(exit::DATA, format!("{url}: {}", e.detail)))?;
        lists.push((file, provenance(url, &bytes)));
    }
    for (file, source) in lists {
        print_json(&service.import_list(&op, &ctx, file, None, &source).await?)?;
    }
    Ok(())
}

fn refused(url: &str, e: lessee_lists::ListError) -> Failure {
    Failure::new(exit::DATA, format!("{url}: the list was refused, nothing was imported: {e}"))
}

fn hex_sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn screen(service: &Service, args: &ScreenArgs) -> Result<(), Failure> {
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());
    let items = match (&args.name, &args.batch) {
        (Some(name), None) => vec![ScreenItem {
            id: None,
            name: name.clone(),
            party: args.party.clone(),
            date_of_birth: args.dob.clone(),
            country: args.country.clone(),
        }],
        (None, Some(file)) => batch_items(&read(file)?)?,
        _ => return Err(Failure::new(exit::USAGE, "give a NAME or --batch FILE.csv")),
    };
    let batch = args.batch.is_some();
    for chunk in items.chunks(lessee_service::screening::MAX_SCREEN_ITEMS) {
        let answer =
            service.screen_query(&op, &ctx, ScreenRequest { items: chunk.to_vec(), list: args.list.clone() }).await?;
        for r in &answer.results {
            if batch {
                print_json(&serde_json::json!({"id": r.id, "matches": r.matches.iter().map(|m| serde_json::json!({
                    "entity_id": m.entity_id, "list": m.list, "score": m.score, "name": m.name, "explanation": m.explanation,
                })).collect::<Vec<_>>()}))?;
            } else {
                for m in &r.matches {
                    println!("{:.3}\t{}\t{}\t{}\t{}", m.score, m.list, m.entity_id, m.name, m.explanation);
                }
                if r.matches.is_empty() {
                    eprintln!("no match at or above the threshold");
                }
            }
        }
    }
    Ok(())
}

/// Rows of a batch CSV: header `id,name` and optional `type,date_of_birth,country`.
fn batch_items(bytes: &[u8]) -> Result<Vec<ScreenItem>, Failure> {
    let text = std::str::from_utf8(bytes).map_err(|_| Failure::new(exit::DATA, "the batch file is not UTF-8"))?;
    let mut rows = csv_rows(text).into_iter();
    let header = rows.next().ok_or_else(|| Failure::new(exit::DATA, "the batch file is empty"))?;
    let col = |n: &str| header.iter().position(|h| h.trim() == n);
    let (Some(id), Some(name)) = (col("id"), col("name")) else {
        return Err(Failure::new(exit::DATA, "the batch file's header needs `id` and `name`"));
    };
    for h in &header {
        if !["id", "name", "type", "date_of_birth", "country"].contains(&h.trim()) {
            return Err(Failure::new(
                exit::DATA,
                format!("unknown column `{h}` (id, name, type, date_of_birth, country)"),
            ));
        }
    }
    let (party, dob, country) = (col("type"), col("date_of_birth"), col("country"));
    let get = |row: &Vec<String>, i: Option<usize>| {
        i.and_then(|i| row.get(i)).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    };
    Ok(rows
        .filter(|r| !(r.len() == 1 && r.first().is_some_and(|f| f.trim().is_empty())))
        .map(|r| ScreenItem {
            id: get(&r, Some(id)),
            name: get(&r, Some(name)).unwrap_or_default(),
            party: get(&r, party),
            date_of_birth: get(&r, dob),
            country: get(&r, country),
        })
        .collect())
}

/// RFC 4180 rows: commas, double-quoted fields with `""` escapes, CRLF or LF.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

pub async fn alerts(service: &Service, cmd: &AlertsCmd) -> Result<(), Failure> {
    let (op, ctx) = (Principal::local_operator(), RequestContext::local());
    match cmd {
        AlertsCmd::List { account, status } => {
            let alerts = match account {
                Some(a) => service.account_alerts(&op, a).await?,
                None => service.list_alerts(&op, status.as_deref(), Some(1000)).await?,
            };
            for a in alerts {
                print_json(&a)?;
            }
            Ok(())
        }
        AlertsCmd::Dispose { id, disposition, reason } => {
            let req = DispositionRequest { disposition: disposition.clone(), reason: reason.clone() };
            print_json(&service.dispose_alert(&op, &ctx, id, req).await?)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    #[test]
    fn batch_csv_is_read_with_quotes_and_optional_columns() {
        let items =
            super::batch_items(b"id,name,country\r\n1,\"BOGACHEV, Evgeniy\",RU\n2,\"Say \"\"hi\"\" Ltd\",\n").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].name.as_str(), items[0].country.as_deref()), ("BOGACHEV, Evgeniy", Some("RU")));
        assert_eq!((items[1].name.as_str(), items[1].country.as_deref()), ("Say \"hi\" Ltd", None));
        assert!(super::batch_items(b"id,nom\n1,x\n").is_err());
        assert!(super::check_url("http://example.com/sdn.csv").is_err());
        assert!(super::check_url("http://127.0.0.1:8000/sdn.csv").is_ok());
    }
}
