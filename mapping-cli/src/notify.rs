//! `--notify URL`: the summary of a session's changes, posted as JSON to a webhook once the
//! report is written. A Slack incoming webhook (`hooks.slack.com`) gets Slack's message body
//! (`{"text": ...}`); any other URL gets the whole summary. Ten seconds at most; a failure is
//! an error for the caller to report, never a lost report.

use std::time::Duration;

use mapping_core::report::Report;

/// The JSON body for `url`.
pub fn body(url: &str, report: &Report) -> serde_json::Value {
    let s = &report.summary;
    let changes = report.changes.as_ref();
    let line = changes.map_or_else(
        || "first session recorded with this partner (no earlier one to compare)".to_owned(),
        |c| c.line(),
    );
    let text = format!(
        "acctmap: {} matched pairs with {} ({} for review); {line}",
        s.matched_pairs, report.partner_name, s.review_pairs
    );
    if is_slack(url) {
        return serde_json::json!({ "text": text });
    }
    serde_json::json!({
        "text": text,
        "partner": report.partner_name,
        "session": s.session,
        "matched_pairs": s.matched_pairs,
        "review_pairs": s.review_pairs,
        "changes": changes.map(|c| {
            let mut summary = c.summary_json();
            summary["rows"] = serde_json::json!(c.rows.iter().take(100).collect::<Vec<_>>());
            summary
        }),
    })
}

fn is_slack(url: &str) -> bool {
    let rest = url.strip_prefix("https://").unwrap_or("");
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    host.eq_ignore_ascii_case("hooks.slack.com")
}

/// Posts the summary; an error says what went wrong (unreachable, timeout, HTTP status).
pub fn post(url: &str, report: &Report) -> anyhow::Result<()> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        anyhow::bail!("the webhook URL must start with https:// or http://");
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(true)
        .build()
        .into();
    let body = serde_json::to_string(&body(url, report))?;
    agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_urls_are_told_apart() {
        assert!(is_slack("https://hooks.slack.com/services/T0/B0/x"));
        assert!(!is_slack("https://hooks.slack.com.evil.example/services"));
        assert!(!is_slack("http://127.0.0.1:9/hook"));
    }
}
