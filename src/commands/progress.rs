//! Progress bars for long CLI work. indicatif draws only when standard error is a terminal, so
//! pipelines and CI logs stay clean.

use indicatif::{ProgressBar, ProgressStyle};

pub fn bar(total: Option<u64>, what: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    let template = if total.is_some() {
        "{msg} [{bar:40}] {human_pos}/{human_len} ({elapsed} spent, {eta} left)"
    } else {
        "{msg} {human_pos} ({elapsed} spent)"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}
