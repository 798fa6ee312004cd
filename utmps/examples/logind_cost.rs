//! One session opened and ended through `Accounting::system()` on the
//! terminal this program runs on, the way `login -f USER` opens and ends one:
//! for `ci/logind.sh`'s cost rows (`LOGIND_COST=N`), which run both on a fresh
//! pty under `script` and time the whole command.
//!
//! ```text
//! script -qfc 'logind_cost root' /dev/null
//! ```

use utmps::{Accounting, Login};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    utmps::leader::serve();
    let user = std::env::args().nth(1).unwrap_or_else(|| "root".into());
    let tty = std::fs::read_link("/proc/self/fd/0")?;
    let line = tty.to_str().ok_or("the terminal's name is not UTF-8")?;
    let acct = Accounting::system()?;
    let session = acct.open(&Login::new(user, line).lastlog(true))?;
    if session.logind_session().is_none() {
        return Err("no logind session: is this a booted systemd host, and root?".into());
    }
    session.logout()?;
    Ok(())
}
