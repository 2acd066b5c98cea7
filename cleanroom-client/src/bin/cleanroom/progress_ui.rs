//! Progress bars for the library's progress callback: one bar per phase
//! (blinding and uploading interleave, so several may be live), each drawn
//! only once its phase has run for a second, and none when stderr is not a
//! terminal.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cleanroom_client::{Phase, Progress, ProgressFn};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

struct Entry {
    started: Instant,
    bar: ProgressBar,
    shown: bool,
}

/// A progress callback drawing on stderr, or a silent one.
pub fn callback(enabled: bool) -> ProgressFn {
    if !enabled || !std::io::stderr().is_terminal() {
        return cleanroom_client::progress::no_progress();
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let bars: Arc<Mutex<HashMap<Phase, Entry>>> = Arc::default();
    Arc::new(move |p: Progress| {
        let Ok(mut bars) = bars.lock() else { return };
        let e = bars.entry(p.phase).or_insert_with(|| {
            let style = match p.total {
                Some(_) => ProgressStyle::with_template(
                    "{msg:>28} [{bar:30}] {human_pos}/{human_len} ({eta})",
                )
                .map(|s| s.progress_chars("=> ")),
                None => ProgressStyle::with_template("{msg:>28} {spinner} {elapsed}"),
            };
            let bar = ProgressBar::hidden()
                .with_style(style.unwrap_or_else(|_| ProgressStyle::default_bar()));
            bar.set_message(p.phase.label());
            Entry {
                started: Instant::now(),
                bar,
                shown: false,
            }
        });
        if let Some(t) = p.total {
            e.bar.set_length(t);
            e.bar.set_position(p.done);
        }
        if p.finished {
            e.bar.finish_and_clear();
            return;
        }
        if !e.shown && e.started.elapsed() >= Duration::from_secs(1) {
            e.bar = multi.add(e.bar.clone());
            e.bar.enable_steady_tick(Duration::from_millis(200));
            e.shown = true;
        }
    })
}
