//! The few scripts pages carry inline, in one place: the pages write them and
//! the server's Content-Security-Policy allows exactly these by their hashes.

/// Applies a stored theme before the first paint, so a light-theme user never
/// sees a dark flash while the WASM loads.
pub const THEME_SCRIPT: &str =
    "try{var t=localStorage.getItem('netpulse-theme');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}";

/// Shows the server-rendered pages' times in the reader's own zone.
pub const LOCAL_TIME_SCRIPT: &str =
    "document.querySelectorAll('time[datetime]').forEach(function(t){var d=new Date(t.getAttribute('datetime'));if(!isNaN(d))t.textContent=d.toLocaleString()})";

/// Every inline script, for the policy.
pub const ALL: [&str; 2] = [THEME_SCRIPT, LOCAL_TIME_SCRIPT];
