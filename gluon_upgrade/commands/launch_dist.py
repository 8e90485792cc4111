"""Run a command as an MXNet parameter-server job: a scheduler, S servers and W workers (kvstore dist_sync).

Examples
--------
python scripts/launch_dist.py -n 2 -s 1 -- python scripts/train.py --config configs/demo/ssd_voc.yaml \
    --set train.kvstore=dist_sync --output runs/dist
python scripts/launch_dist.py -n 4 -s 2 -H hosts.txt -- python scripts/train.py --config FILE \
    --set train.kvstore=dist_device_sync
"""
import argparse

from ..cli import command_parser, run_main


def parse_args(argv=None):
    parser = command_parser(__doc__)
    parser.add_argument("-n", "--num-workers", type=int, required=True, help="worker processes")
    parser.add_argument("-s", "--num-servers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("-H", "--hostfile", help="hosts to spread servers and workers over (ssh); "
                                                 "default: all on this machine, over loopback")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the worker command")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from ..training.launch import plan, read_hosts, run

    def work() -> int:
        hosts = read_hosts(args.hostfile) if args.hostfile else None
        return run(plan(args.num_workers, args.num_servers, args.command, hosts))
    return run_main(work, "interrupted; every process of the job was stopped")
