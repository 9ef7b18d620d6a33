//! The few scripts pages carry inline, in one place: the pages write them and
//! the server's Content-Security-Policy allows exactly these by their hashes.

/// Applies a stored theme before the first paint, so a light-theme user never
/// sees a dark flash while the WASM loads.
pub const THEME_SCRIPT: &str =
    "try{var t=localStorage.getItem('netpulse-theme');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}";

/// Shows the server-rendered pages' times in the reader's own zone.
pub const LOCAL_TIME_SCRIPT: &str =
    "document.querySelectorAll('time[datetime]').forEach(function(t){var d=new Date(t.getAttribute('datetime'));if(!isNaN(d))t.textContent=d.toLocaleString()})";

/// The dashboard's "Test now": asks `POST /api/speed/test-now` and shows the answer's
/// `summary` or `error` beside the button, the button off while it asks. A script, not
/// WASM: the bundle has no room.
pub const TEST_NOW_SCRIPT: &str =
    "document.addEventListener('click',function(e){var b=e.target.closest&&e.target.closest('.test-now-button');if(!b||b.disabled)return;\
var s=b.parentNode.querySelector('[role=status]');b.disabled=true;s.textContent='Asking…';\
fetch('/api/speed/test-now',{method:'POST',headers:{'content-type':'application/json'},body:'{}'})\
.then(function(r){return r.json().then(function(j){s.textContent=r.ok?j.summary:'Cannot test now: '+(j.error||r.status)},\
function(){s.textContent='Cannot test now: the server answered '+r.status})},function(){s.textContent='Cannot test now: the server cannot be reached'})\
.then(function(){b.disabled=false})})";

/// The speed section's "Tests from" picker: its options from the select's `data-here`,
/// `data-nodes` and `data-shown` (this server first, every node last); "Show" loads the
/// page for the chosen node (`?node=`, the range kept); a page back from the history
/// cache shows its own node again. A script for the same reason.
pub const NODE_PICKER_SCRIPT: &str = "document.querySelectorAll('.node-picker select').forEach(function(s){var d=s.dataset;\
(d.here+' '+d.nodes+' *').split(' ').forEach(function(n,i){if(!n)return;var o=document.createElement('option');o.value=n;\
o.textContent=n==='*'?'every node, overlaid':i===0?n+' (this server)':n;o.selected=n===d.shown;s.appendChild(o)})});\
document.addEventListener('submit',function(e){var f=e.target;if(!f.matches||!f.matches('.node-picker'))return;e.preventDefault();\
var q=new URLSearchParams(location.search);q.set('node',f.querySelector('select').value);location.search=q.toString()});\
addEventListener('pageshow',function(){document.querySelectorAll('.node-picker select').forEach(function(s){s.value=s.dataset.shown})})";

/// Every inline script, for the policy.
pub const ALL: [&str; 4] = [THEME_SCRIPT, LOCAL_TIME_SCRIPT, TEST_NOW_SCRIPT, NODE_PICKER_SCRIPT];
