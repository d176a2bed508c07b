#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Guest loopback benchmark: mvnet against QEMU's own virtio-net.

Each boot runs every workload (tests/guest/init's lc_bench): streaming
1514-byte and 60-byte frames with 32 in flight, and ping-pong (one in
flight).  Three NICs, all on virtio-mmio so the transport is like for like:

  reference    QEMU's virtio-net-device on a UDP socket looped to itself
  mvnet        virtio-mdev-net with its defaults (adaptive moderation)
  mvnet-nomod  virtio-mdev-net,adaptive-coal=off (an interrupt per frame)

Then TCP through a tap device (tests/guest/tcphost.py: a network
namespace of the benchmark's own, the host at the tap's end): the guest
sends --tcp-bytes to the host, then receives as many (tcpstream; the host
checks what it receives, the guest only counts, as iperf3), with the
NIC's offloads (TSO both ways) on the same tap setup for each NIC:

  reference    QEMU's virtio-net-device on -netdev tap (vnet headers)
  mvnet        virtio-mdev-net on -netdev tap

Rounds are interleaved (every NIC once per round, one boot at a time) so
that a slow spell of the host hits all alike.  microvm boots without
-icount where the host's TSC allows it (boot_setup()).  Per workload: the guest's
frames/s (median, min, max over the rounds), the guest's interrupts per
frame (its /proc/interrupts) and, for mvnet, the driver's kicks per frame
(query-mdev, sampled when the guest starts and ends the workload).

  bench.py [--rounds N] [--count N] [--tcp-bytes N] [--setup NAME]...
           [--out DIR] [--engine FILE]

Writes DIR/rounds.csv (every measurement), DIR/summary.csv and
DIR/bench.json, prints the table, and with gnuplot installed draws
DIR/bench.png.  --engine takes the engine microbenchmark's output
(bench-vring-engine) to put in the same files.
"""

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys

import run

WORKLOADS = (('stream-1514', 1514, 32), ('stream-60', 60, 32),
             ('pingpong-1514', 1514, 1))
NICS = (('reference', 'reference', ''),
        ('mvnet', 'mdev', ''),
        ('mvnet-nomod', 'mdev', 'adaptive-coal=off'))
TCP_NICS = NICS
TCP_WORKLOADS = (('tcp-guest-to-host', 'send'), ('tcp-host-to-guest', 'recv'))
SETUP_NAMES = {'aarch64-virt-dt': 'arm virt (DT)',
               'x86_64-microvm': 'x86 microvm'}
HZ = 250                    # Debian's CONFIG_HZ, for lpj=


def host_tsc_khz():
    """The host's TSC rate in kHz, when it is invariant (an x86 host with
    constant_tsc and nonstop_tsc: /proc/cpuinfo's rate is then the TSC's),
    else None."""
    mhz, flags = None, set()
    try:
        for line in open('/proc/cpuinfo'):
            key, _, val = line.partition(':')
            if key.strip() == 'cpu MHz' and mhz is None:
                mhz = float(val)
            elif key.strip() == 'flags' and not flags:
                flags = set(val.split())
    except OSError:
        return None
    if os.uname().machine != 'x86_64' or mhz is None or \
            not {'constant_tsc', 'nonstop_tsc'} <= flags:
        return None
    return int(mhz * 1000)


def boot_setup(setup):
    """How the bench boots SETUP: a run.SETUPS name and kernel options.

    microvm has no HPET or PM timer, so the guest tests boot it with
    -icount (see run.py), where adaptive moderation is off and rates are
    in virtual time.  On an x86 host with an invariant TSC (which TCG's
    guest TSC follows) the kernel can skip both calibrations instead
    (tsc_early_khz=, lpj=) and the guest runs, and is timed, in real time.
    """
    khz = host_tsc_khz()
    if setup != 'x86_64-microvm' or not khz:
        return setup, {}
    run.SETUPS['x86_64-microvm-rt'] = dict(run.SETUPS[setup], accel=[])
    return 'x86_64-microvm-rt', {'tsc_early_khz': khz,
                                 'lpj': khz * 1000 // HZ}


def mdev_counters(vm):
    """Kicks on the data queues and interrupts of every mdev instance."""
    kicks = irqs = 0
    for parent in vm.cmd('query-mdev'):
        for inst in parent['instances']:
            for q in inst.get('stats', []):
                if q['name'] in ('rx', 'tx'):
                    kicks += q['kicks']
                irqs += q['interrupts']
    return kicks, irqs


def boot(setup, label, device, props, args):
    """One boot running every workload; a list of measurements."""
    spec = ','.join('%s:%d:%d' % w for w in WORKLOADS)
    boot_as, opts = boot_setup(setup)
    case = run.Case(device, boot_as, 'bench', props,
                    guest_opts=dict(opts, lc_bench=spec))
    samples = {}

    def hook(vm, line):
        if line.startswith(('GUEST-BENCH-BEGIN', 'GUEST-BENCH-END')):
            name = line.split()[1]
            samples.setdefault(name, {})[line.split()[0]] = (
                run.parse_kv(line),
                mdev_counters(vm) if device == 'mdev' else None)

    ok, summary, log, _ = run.run_case(case, args, hook=hook)
    if not ok:
        raise RuntimeError('%s %s: %s (log: %s)' % (setup, label, summary,
                                                   log))
    results = []
    loops = [run.parse_kv(l) for l in open(log) if l.startswith('LOOPCHECK')]
    for (name, size, window), lc in zip(WORKLOADS, loops):
        begin = samples[name]['GUEST-BENCH-BEGIN'][1]
        end_kv, end = samples[name]['GUEST-BENCH-END']
        frames = int(lc['sent'])
        r = dict(setup=setup, nic=label, workload=name, size=size,
                 window=window, frames=frames, fps=float(lc['fps']),
                 irqs_per_frame=int(end_kv['irqs']) / frames)
        if end:
            r['kicks_per_frame'] = (end[0] - begin[0]) / frames
        results.append(r)
    return results


def boot_tcp(setup, label, device, props, args):
    """One boot on a tap device streaming TCP each way; two measurements."""
    boot_as, opts = boot_setup(setup)
    case = run.Case(device, boot_as, 'bench-tcp', props, guest_opts=opts,
                    netdev='tap')
    ok, summary, log, _ = run.run_case(case, args)
    if not ok:
        raise RuntimeError('%s %s: %s (log: %s)' % (setup, label, summary,
                                                   log))
    lines = [l.rstrip('\n') for l in open(log)]
    frames = run.tcp_frames(lines)
    streams = {run.parse_kv(l)['mode']: run.parse_kv(l) for l in lines
               if l.startswith('TCPSTREAM ')}
    return [dict(setup=setup, nic=label, workload=name,
                 bytes=int(streams[d]['bytes']),
                 mbps=float(streams[d]['mbps']),
                 mean_frame=frames[d][1])
            for name, d in TCP_WORKLOADS]


def summarize(rounds, key):
    """Per setup, workload and NIC of the rounds that measured KEY (fps or
    mbps): median, min and max over the rounds, and the ratio of medians
    to the reference's."""
    groups = {}
    for r in rounds:
        if key in r:
            groups.setdefault((r['setup'], r['workload'], r['nic']),
                              []).append(r)
    rows = []
    for (setup, workload, nic), rs in sorted(groups.items()):
        vals = [r[key] for r in rs]
        row = {'setup': setup, 'workload': workload, 'nic': nic,
               'rounds': len(rs), key + '_median': statistics.median(vals),
               key + '_min': min(vals), key + '_max': max(vals)}
        for extra in ('irqs_per_frame', 'kicks_per_frame', 'mean_frame'):
            if extra in rs[0]:
                row[extra] = statistics.median(r[extra] for r in rs)
        rows.append(row)
    ref = {(r['setup'], r['workload']): r[key + '_median'] for r in rows
           if r['nic'] == 'reference'}
    for r in rows:
        base = ref.get((r['setup'], r['workload']))
        if base and r['nic'] != 'reference':
            r['ratio_to_reference'] = r[key + '_median'] / base
    return rows


def engine_results(path):
    """The engine microbenchmark's BENCH lines, as dicts."""
    if not path:
        return []
    out = []
    for line in open(path):
        if line.startswith('BENCH '):
            kv = run.parse_kv(line)
            out.append({k: (v if k == 'ring' else float(v))
                        for k, v in kv.items()})
    return out


def tcp_table(rows, args):
    lines = ['TCP through a tap device, TCG, %d MiB each way, %d rounds '
             'interleaved; Mbit/s median [min-max] (guest clock)'
             % (args.tcp_bytes >> 20, args.rounds), '',
             '| setup | direction | NIC | Mbit/s | vs reference | '
             'mean frame (guest) |', '|---|---|---|---|---|---|']
    for r in rows:
        lines.append('| %s | %s | %s | %.0f [%.0f-%.0f] | %s | %.0f B |'
                     % (SETUP_NAMES.get(r['setup'], r['setup']),
                        r['workload'], r['nic'], r['mbps_median'],
                        r['mbps_min'], r['mbps_max'],
                        '%.2f' % r['ratio_to_reference']
                        if 'ratio_to_reference' in r else '',
                        r['mean_frame']))
    return '\n'.join(lines)


def table(rows, engine, args):
    lines = ['Guest loopback, TCG, %d frames per workload, %d rounds '
             'interleaved; frames/s median [min-max]' % (args.count,
                                                          args.rounds), '',
             '| setup | workload | NIC | frames/s | vs reference | '
             'interrupts/frame | kicks/frame |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append('| %s | %s | %s | %.0f [%.0f-%.0f] | %s | %.3f | %s |'
                     % (SETUP_NAMES.get(r['setup'], r['setup']),
                        r['workload'], r['nic'], r['fps_median'],
                        r['fps_min'], r['fps_max'],
                        '%.2f' % r['ratio_to_reference']
                        if 'ratio_to_reference' in r else '',
                        r['irqs_per_frame'],
                        '%.3f' % r['kicks_per_frame']
                        if 'kicks_per_frame' in r else 'n/a'))
    if engine:
        lines += ['', 'Ring engine against memcpy of the same frames (host)',
                  '', '| ring | frame | engine Mpps | memcpy Mpps | ratio |',
                  '|---|---|---|---|---|']
        for e in engine:
            lines.append('| %s | %d B | %.2f | %.2f | %.3f |'
                         % (e['ring'], e['size'], e['engine_mpps'],
                            e['memcpy_mpps'], e['ratio']))
    return '\n'.join(lines)


def chart(rows, out):
    """bench.png: median frames/s per workload and NIC, min-max bars."""
    if not shutil.which('gnuplot'):
        print('bench: gnuplot not installed, no chart')
        return
    nics = [n for n, _, _ in NICS]
    data = os.path.join(out, 'chart.dat')
    with open(data, 'w') as f:
        for setup in sorted({r['setup'] for r in rows}):
            for w, _, _ in WORKLOADS:
                by = {r['nic']: r for r in rows
                      if r['setup'] == setup and r['workload'] == w}
                if not by:
                    continue
                f.write('"%s\\n%s"' % (SETUP_NAMES.get(setup, setup), w))
                for n in nics:
                    r = by.get(n, dict(fps_median=0, fps_min=0, fps_max=0))
                    f.write(' %.0f %.0f %.0f' % (r['fps_median'],
                                                 r['fps_min'], r['fps_max']))
                f.write('\n')
    plots = ', '.join("'%s' using %d:%d:%d:xtic(1) title '%s'"
                      % (data, 2 + 3 * i, 3 + 3 * i, 4 + 3 * i, n)
                      for i, n in enumerate(nics))
    script = '\n'.join([
        'set terminal pngcairo size 1200,600 noenhanced',
        "set output '%s'" % os.path.join(out, 'bench.png'),
        "set title 'Guest loopback frames/s (median, min-max), TCG'",
        'set style data histograms',
        'set style histogram errorbars gap 2 lw 1',
        'set style fill solid 0.6 border -1',
        "set ylabel 'frames/s'", 'set yrange [0:*]', 'set key top right',
        'set xtics font ",9"',
        'plot ' + plots, ''])
    subprocess.run(['gnuplot'], input=script.encode(), check=True)
    print('bench: chart in %s' % os.path.join(out, 'bench.png'))


def write(rounds, rows, engine, out):
    os.makedirs(out, exist_ok=True)
    for name, data in (('rounds.csv', rounds), ('summary.csv', rows)):
        keys = []
        for d in data:
            keys += [k for k in d if k not in keys]
        with open(os.path.join(out, name), 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(data)
    with open(os.path.join(out, 'bench.json'), 'w') as f:
        json.dump(dict(machine=os.uname().nodename, cpus=os.cpu_count(),
                       engine=engine, guest_summary=rows,
                       guest_rounds=rounds), f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--count', type=int, default=4000,
                   help='frames per workload')
    p.add_argument('--setup', action='append', choices=sorted(SETUP_NAMES),
                   help='machine setups (default: all)')
    p.add_argument('--out', default=os.path.join(run.BUILD, 'bench'))
    p.add_argument('--engine', help="bench-vring-engine's output")
    p.add_argument('--tcp-bytes', type=int, default=128 << 20,
                   help='bytes of each TCP stream (0: no TCP case)')
    p.add_argument('--timeout', type=int, default=240)
    args = p.parse_args()
    run.TCP_BYTES = args.tcp_bytes
    run.TCP_DIRS = ('send', 'recv-nocheck')
    why = run.tcphost.available() if args.tcp_bytes else 'not asked for'
    if why:
        print('bench: no TCP case: %s' % why)
    setups = args.setup or sorted(SETUP_NAMES)
    subprocess.run([os.path.join(run.TOP, 'tests', 'guest', 'prepare.sh')]
                   + sorted({run.SETUPS[s]['arch'] for s in setups}),
                   check=True)
    rounds = []
    for rnd in range(args.rounds):
        for setup in setups:
            for label, device, props in NICS:
                for r in boot(setup, label, device, props, args):
                    r['round'] = rnd
                    rounds.append(r)
                    print('bench: round %d %s %s %s: %.0f frames/s, '
                          '%.3f interrupts/frame%s'
                          % (rnd + 1, setup, label, r['workload'], r['fps'],
                             r['irqs_per_frame'],
                             ', %.3f kicks/frame' % r['kicks_per_frame']
                             if 'kicks_per_frame' in r else ''), flush=True)
            for label, device, props in (TCP_NICS if not why else ()):
                for r in boot_tcp(setup, label, device, props, args):
                    r['round'] = rnd
                    rounds.append(r)
                    print('bench: round %d %s %s %s: %.0f Mbit/s, mean '
                          'frame %.0f B' % (rnd + 1, setup, label,
                                            r['workload'], r['mbps'],
                                            r['mean_frame']), flush=True)
    rows = summarize(rounds, 'fps')
    tcp_rows = summarize(rounds, 'mbps')
    engine = engine_results(args.engine)
    write(rounds, rows + tcp_rows, engine, args.out)
    text = table(rows, engine, args)
    if tcp_rows:
        text += '\n\n' + tcp_table(tcp_rows, args)
    with open(os.path.join(args.out, 'table.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    chart(rows, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
