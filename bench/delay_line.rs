//! A delay line for the accuracy benchmark: forwards every Ethernet frame
//! between two interfaces, holding each for a fixed time, so TCP stays end to
//! end between the hosts on either side while their round trip grows by twice
//! that time. Kernels without `sch_netem` (this benchmark's machine) have no
//! other way to add delay.
//!
//! Frames are read and written with AF_PACKET sockets in `PACKET_VNET_HDR`
//! mode: the kernel's offload metadata (segmentation, checksum offsets) rides
//! along with each frame, as it does for a virtio NIC, so a 64 KiB TSO packet
//! crosses as one frame and its checksum is finished on the far side.
//!
//!   delay-line --a np-acc-sm --b np-acc-cm --delay-ms 20   # adds 40 ms of RTT
//!
//! Run it in a namespace of its own whose two interfaces have no addresses, so
//! the kernel does not answer or route what it forwards. Stops on SIGTERM or SIGINT.

use std::{
    collections::VecDeque,
    ffi::CString,
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Condvar, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use clap::Parser;

/// From `linux/if_packet.h`; the libc crate does not carry them.
const PACKET_VNET_HDR: libc::c_int = 15;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// A virtio-net header before each frame, then at most a 64 KiB GSO frame.
const MAX_FRAME: usize = 10 + 65_536 + 64;

#[derive(Parser)]
#[command(about = "Forwards frames between two interfaces, holding each for --delay-ms")]
struct Args {
    #[arg(long)]
    a: String,
    #[arg(long)]
    b: String,
    /// One-way delay in milliseconds, the same both ways.
    #[arg(long)]
    delay_ms: f64,
    /// Most bytes held in each direction; frames past it are dropped, as a router's full buffer does.
    #[arg(long, default_value_t = 64 << 20)]
    queue_bytes: usize,
}

/// An AF_PACKET socket bound to one interface, reading what arrives there and sending out of it.
fn packet_socket(interface: &str) -> io::Result<OwnedFd> {
    let name = CString::new(interface).map_err(|_| io::Error::other("bad interface name"))?;
    // SAFETY: plain libc calls on values this function owns; every result is checked.
    unsafe {
        let index = libc::if_nametoindex(name.as_ptr());
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        let protocol = (libc::ETH_P_ALL as u16).to_be();
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, protocol as libc::c_int);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let one: libc::c_int = 1;
        for option in [PACKET_VNET_HDR, PACKET_IGNORE_OUTGOING] {
            let set = libc::setsockopt(fd.as_raw_fd(), libc::SOL_PACKET, option, (&one as *const libc::c_int).cast(), size_of::<libc::c_int>() as u32);
            if set != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let mut address: libc::sockaddr_ll = std::mem::zeroed();
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = protocol;
        address.sll_ifindex = index as i32;
        if libc::bind(fd.as_raw_fd(), (&address as *const libc::sockaddr_ll).cast(), size_of::<libc::sockaddr_ll>() as u32) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    }
}

/// Frames on their way in one direction, oldest first, each with the time it may leave.
#[derive(Default)]
struct Held {
    queue: Mutex<Queue>,
    ready: Condvar,
}

#[derive(Default)]
struct Queue {
    frames: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
}

#[derive(Default)]
struct Counts {
    forwarded: AtomicU64,
    dropped: AtomicU64,
}

fn receive(from: Arc<OwnedFd>, held: Arc<Held>, delay: Duration, queue_bytes: usize, counts: Arc<Counts>, stop: Arc<AtomicBool>) {
    let mut buffer = vec![0u8; MAX_FRAME];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: reads into a buffer of the length passed. MSG_TRUNC makes it return a frame's
        // whole length, so one too long for the buffer is dropped instead of sent cut short.
        let read = unsafe { libc::recv(from.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len(), libc::MSG_TRUNC) };
        if read <= 0 {
            continue;
        }
        if read as usize > buffer.len() {
            counts.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let frame = buffer[..read as usize].to_vec();
        let mut queue = held.queue.lock().unwrap();
        if queue.bytes + frame.len() > queue_bytes {
            counts.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        queue.bytes += frame.len();
        queue.frames.push_back((Instant::now() + delay, frame));
        held.ready.notify_one();
    }
}

fn send(to: Arc<OwnedFd>, held: Arc<Held>, counts: Arc<Counts>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let (due, frame) = {
            let mut queue = held.queue.lock().unwrap();
            while queue.frames.is_empty() {
                queue = held.ready.wait_timeout(queue, Duration::from_millis(100)).unwrap().0;
                if stop.load(Ordering::Relaxed) {
                    return;
                }
            }
            let (due, frame) = queue.frames.pop_front().expect("not empty");
            queue.bytes -= frame.len();
            (due, frame)
        };
        // Every frame is held equally long, so the oldest is always the next due.
        let wait = due.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            thread::sleep(wait);
        }
        // SAFETY: writes a buffer of the length passed.
        let sent = unsafe { libc::send(to.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if sent < 0 {
            counts.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            counts.forwarded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn main() {
    let args = Args::parse();
    if !(0.0..=10_000.0).contains(&args.delay_ms) {
        eprintln!("delay-line: --delay-ms must be 0 to 10000, got {}", args.delay_ms);
        std::process::exit(2);
    }
    let open = |name: &str| {
        packet_socket(name).map(Arc::new).unwrap_or_else(|err| {
            eprintln!("delay-line: cannot open a packet socket on {name}: {err} (run as root, inside the namespace that holds it)");
            std::process::exit(2);
        })
    };
    let (a, b) = (open(&args.a), open(&args.b));
    // A receive timeout lets the readers notice a stop.
    for fd in [&a, &b] {
        let timeout = libc::timeval { tv_sec: 0, tv_usec: 200_000 };
        // SAFETY: sets a plain option from a value on the stack.
        let set = unsafe {
            libc::setsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, (&timeout as *const libc::timeval).cast(), size_of::<libc::timeval>() as u32)
        };
        if set != 0 {
            eprintln!("delay-line: cannot set a receive timeout: {}", io::Error::last_os_error());
            std::process::exit(2);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).expect("signal handlers can be set");
    }
    let delay = Duration::from_secs_f64(args.delay_ms / 1000.0);
    let counts = Arc::new(Counts::default());
    let mut threads = Vec::new();
    for (from, to) in [(a.clone(), b.clone()), (b, a)] {
        let held = Arc::new(Held::default());
        let (h, c, s) = (held.clone(), counts.clone(), stop.clone());
        threads.push(thread::spawn(move || receive(from, h, delay, args.queue_bytes, c, s)));
        let (c, s) = (counts.clone(), stop.clone());
        threads.push(thread::spawn(move || send(to, held, c, s)));
    }
    eprintln!("delay-line: {} <-> {}, {} ms each way", args.a, args.b, args.delay_ms);
    for thread in threads {
        let _ = thread.join();
    }
    eprintln!("delay-line: forwarded {} frames, dropped {}", counts.forwarded.load(Ordering::Relaxed), counts.dropped.load(Ordering::Relaxed));
}
