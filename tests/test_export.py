"""`usagectl export`: each format checked by the program that reads it.

Ray's cluster YAML by Ray's own schema check (the autoscaler's validate_config) and a
real head started from the patched start command; the KubeRay manifest keeps every
field it had; the dask file is read by dask; the systemd and k8s lists parse back to
`usagectl env`'s variables; the dockerfile's policy is read by the consent reader.
"""

import copy
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile

import isolation
import pytest
import yaml

from usagectl import consent

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


def _ray_dir():
    import importlib.util

    return pathlib.Path(importlib.util.find_spec("ray").origin).parent


def _variables(cli):
    out = cli("env", "--json").json()["data"]
    pairs = [tuple(v) for f in out["frameworks"] for v in f["variables"]] + [tuple(v) for v in out["global"]]
    return pairs


@pytest.fixture
def ray_cluster_yaml(tmp_path):
    """Ray's own AWS cluster defaults: a complete, commented `ray up` config."""
    path = tmp_path / "cluster.yaml"
    shutil.copy(_ray_dir() / "autoscaler" / "aws" / "defaults.yaml", path)
    return path


@pytest.mark.frameworks
def test_a_patched_cluster_yaml_passes_rays_own_validation(cli, ray_cluster_yaml):
    from ray.autoscaler._private.util import prepare_config, validate_config

    original = ray_cluster_yaml.read_text()
    assert cli("disable", "ray").exit_code == 0
    result = cli("export", "ray-cluster", str(ray_cluster_yaml), "--json")
    assert result.exit_code == 0, result
    patched = result.json()["data"]["text"]
    config = yaml.safe_load(patched)
    validate_config(config)
    validate_config(prepare_config(copy.deepcopy(config)))
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [c for c in config[key] if "ray start" in c]
        assert starts and all("RAY_USAGE_STATS_ENABLED=0 ray start --disable-usage-stats" in c for c in starts)
    # Everything else, comments included, is the file's own.
    assert [line for line in patched.splitlines() if "ray start" not in line] == \
        [line for line in original.splitlines() if "ray start" not in line]
    # Patching the patched file changes nothing.
    ray_cluster_yaml.write_text(patched)
    again = cli("export", "ray-cluster", str(ray_cluster_yaml), "--json").json()["data"]
    assert again["text"] == patched and again["changed"] is False


@pytest.mark.frameworks
def test_start_commands_left_out_are_rays_defaults_patched(cli, tmp_path):
    from ray.autoscaler._private.util import validate_config

    path = tmp_path / "c.yaml"
    path.write_text("cluster_name: mine\nprovider:\n    type: local\n    head_ip: 10.0.0.1\n"
                    "    worker_ips: []\nauth:\n    ssh_user: me\n")
    assert cli("disable").exit_code == 0
    data = cli("export", "ray-cluster", str(path), "--json").json()["data"]
    config = yaml.safe_load(data["text"])
    local = yaml.safe_load((_ray_dir() / "autoscaler" / "local" / "defaults.yaml").read_text())
    assert [c.replace("RAY_USAGE_STATS_ENABLED=0 ", "").replace(" --disable-usage-stats", "")
            for c in config["head_start_ray_commands"]] == local["head_start_ray_commands"]
    validate_config({**local, **config})


def test_consent_on_never_loosens_a_cluster_yaml(cli, tmp_path):
    path = tmp_path / "c.yaml"
    text = "head_start_ray_commands:\n  - ray start --head --disable-usage-stats  # ours\n" \
           "worker_start_ray_commands: []\n"
    path.write_text(text)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    assert cli("enable", "ray").exit_code == 0
    result = cli("export", "ray-cluster", str(path), "--in-place", "--json")
    assert result.exit_code == 0 and result.json()["data"]["changed"] is False
    assert path.read_text() == text and path.stat().st_mtime == 1_000_000_000  # not even rewritten
    assert "turn usage stats off; kept" in " ".join(result.json()["data"]["notes"])


def test_in_place_keeps_the_mode_and_writes_atomically(cli, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("# mine\nhead_start_ray_commands:\n  - ulimit -n 65536; ray start --head\n"
                    "worker_start_ray_commands:\n  - ray stop\n"
                    "  - /opt/ray/bin/ray start --address=$RAY_HEAD_IP:6379\n")
    path.chmod(0o640)
    assert cli("disable", "ray").exit_code == 0
    result = cli("export", "ray-cluster", str(path), "--in-place")
    assert result.exit_code == 0 and "Wrote" in result.stdout
    text = path.read_text()
    assert text.startswith("# mine\n") and (path.stat().st_mode & 0o777) == 0o640
    assert "ulimit -n 65536; RAY_USAGE_STATS_ENABLED=0 ray start --disable-usage-stats --head" in text
    assert "RAY_USAGE_STATS_ENABLED=0 /opt/ray/bin/ray start --disable-usage-stats --address" in text
    assert "  - ray stop\n" in text
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_bad_input_is_one_line_naming_the_file(cli, tmp_path):
    missing = cli("export", "ray-cluster", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "nope.yaml does not exist" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("head_start_ray_commands:\n  - ray start\n bad: [\n")
    result = cli("export", "ray-cluster", str(broken))
    assert result.exit_code == 2 and "broken.yaml line" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli("export", "ray-cluster").exit_code == 2
    assert cli("export", "k8s-env", str(broken)).exit_code == 2


@pytest.mark.frameworks
@pytest.mark.netns
@pytest.mark.slow
@pytest.mark.parametrize("blackhole", [False, True], ids=["no-blackhole", "blackhole"])
def test_a_head_started_from_the_patched_command_reports_usage_stats_disabled(cli, tmp_path, settings_file,
                                                                                blackhole):
    """The head start command of Ray's local-provider defaults, patched, run the way
    `ray up`'s updater runs it (with `export RAY_USAGE_STATS_ENABLED=1;` in front, as it
    does when the launching machine says on), in isolated namespaces with the report URL
    on a loopback sink: Ray says usage stats are disabled and sends only the disabled ping.
    With a [blackhole] in settings.toml the patched command sends that ping there instead,
    whatever the environment's report URL says."""
    isolation.require()
    config = tmp_path / "cluster.yaml"
    shutil.copy(_ray_dir() / "autoscaler" / "local" / "defaults.yaml", config)
    if blackhole:
        settings_file.parent.mkdir(parents=True, exist_ok=True)
        settings_file.write_text('[blackhole]\nray = "http://127.0.0.1:8996/"\n')
    assert cli("disable", "ray").exit_code == 0
    patched = yaml.safe_load(cli("export", "ray-cluster", str(config), "--json").json()["data"]["text"])
    head_start = [c for c in patched["head_start_ray_commands"] if "ray start" in c][0]
    assert ("RAY_USAGE_STATS_REPORT_URL=http://127.0.0.1:8996/ " in head_start) is blackhole

    temp = tempfile.mkdtemp(prefix="ue-", dir="/tmp")  # short: Ray's AF_UNIX paths
    home = pathlib.Path(temp) / "h"
    sink = tmp_path / "sink"
    hole = tmp_path / "blackhole"
    for d in (home, sink, hole):
        d.mkdir()
    (home / "ray_bootstrap_config.yaml").write_text(yaml.safe_dump(patched))
    bindir = os.path.dirname(sys.executable)
    script = (
        'export HOME=%(home)s TMPDIR=%(temp)s PATH=%(bin)s:$PATH '
        'RAY_USAGE_STATS_REPORT_URL=http://127.0.0.1:8997/ RAY_USAGE_STATS_REPORT_INTERVAL_S=2; '
        'timeout 120 %(py)s %(sinkpy)s %(sink)s 8997 & SINK=$!; '
        'timeout 120 %(py)s %(sinkpy)s %(hole)s 8996 & HOLE=$!; sleep 1; '
        '(export RAY_USAGE_STATS_ENABLED=1; timeout 120 sh -c %(cmd)s) > %(out)s 2>&1; '
        'i=0; while [ $i -lt 40 ] && [ ! -f %(sink)s/post-1.body ] && [ ! -f %(hole)s/post-1.body ]; '
        'do sleep 1; i=$((i+1)); done; sleep 6; '
        'timeout 60 ray stop --force >/dev/null 2>&1; kill $SINK $HOLE; wait'
    ) % {"home": shlex.quote(str(home)), "temp": shlex.quote(temp), "bin": shlex.quote(bindir),
         "py": shlex.quote(sys.executable), "sinkpy": shlex.quote(str(FIXTURES / "ray" / "sink.py")),
         "sink": shlex.quote(str(sink)), "hole": shlex.quote(str(hole)), "cmd": shlex.quote(head_start),
         "out": shlex.quote(str(tmp_path / "out"))}
    try:
        proc = subprocess.run(isolation.isolated_shell(script), capture_output=True, text=True, timeout=400)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    started = (tmp_path / "out").read_text()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Ray runtime started" in started, started[-3000:]
    assert "Usage stats collection is disabled" in started, started[-3000:]
    bodies = sorted((hole if blackhole else sink).glob("post-*.body"))
    assert not list((sink if blackhole else hole).glob("post-*.body"))
    # Only the disabled ping: every cluster field null. Reports every 2 s would have come
    # by now with usage stats on.
    assert len(bodies) == 1, bodies
    ping = json.loads(bodies[0].read_text())
    assert ping["total_num_cpus"] is None and ping["session_id"] is None


def _contains(original, patched, where="$"):
    """Every key and item of ``original`` is in ``patched``, with the same value; lists may grow."""
    if isinstance(original, dict):
        assert isinstance(patched, dict), where
        for key, value in original.items():
            assert key in patched, "%s.%s lost" % (where, key)
            _contains(value, patched[key], "%s.%s" % (where, key))
    elif isinstance(original, list):
        assert isinstance(patched, list) and len(patched) >= len(original), where
        for index, item in enumerate(original):
            _contains(item, patched[index], "%s[%d]" % (where, index))
    else:
        assert original == patched, where


def test_a_patched_raycluster_manifest_keeps_every_original_field(cli, tmp_path):
    manifest = tmp_path / "m.yaml"
    source = (FIXTURES / "kuberay" / "ray-cluster.complete.yaml").read_text()
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  a: b\n---\n" + source)
    assert cli("disable", "ray").exit_code == 0
    result = cli("export", "kuberay", str(manifest), "--json")
    assert result.exit_code == 0, result
    patched_text = result.json()["data"]["text"]
    original = list(yaml.safe_load_all(manifest.read_text()))
    patched = list(yaml.safe_load_all(patched_text))
    _contains(original, patched)
    assert patched[0] == original[0]  # not a Ray document: untouched
    spec = patched[1]["spec"]
    for group in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
        assert group["rayStartParams"]["disable-usage-stats"] == "true"
        env = group["template"]["spec"]["containers"][0]["env"]
        assert {"name": "RAY_USAGE_STATS_ENABLED", "value": "0"} in env
    # The init container is not Ray's: left alone.
    assert "env" not in spec["workerGroupSpecs"][0]["template"]["spec"]["initContainers"][0]
    # Comments survive.
    assert "# Deprecated since Ray 1.11 due to GCS bootstrapping enabled" in patched_text
    assert "#  - raycluster-complete-worker-small-group-hv457" in patched_text


def test_a_manifest_without_a_ray_cluster_is_refused(cli, tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    result = cli("export", "kuberay", str(manifest))
    assert result.exit_code == 2 and "holds no RayCluster" in result.stderr


def test_k8s_env_and_systemd_carry_exactly_the_env_variables(cli):
    assert cli("disable").exit_code == 0
    expected = _variables(cli)
    assert ("RAY_USAGE_STATS_ENABLED", "0") in expected and ("DO_NOT_TRACK", "1") in expected
    listed = yaml.safe_load(cli("export", "k8s-env").stdout)
    assert [(item["name"], item["value"]) for item in listed] == expected
    assert all(isinstance(item["value"], str) for item in listed)
    unit = cli("export", "systemd").stdout
    assert "[Service]" in unit.splitlines()
    words = [shlex.split(line[len("Environment="):])[0] for line in unit.splitlines()
             if line.startswith("Environment=")]
    assert [tuple(w.split("=", 1)) for w in words] == expected


def test_systemd_quoting_escapes_specifiers_and_quotes():
    from usagectl.core.exports import systemd_quote

    assert systemd_quote('A=50% "x"\\') == '"A=50%% \\"x\\"\\\\"'


def test_nothing_chosen_exports_nothing(cli):
    assert yaml.safe_load(cli("export", "k8s-env").stdout) == []
    assert "coiled is unset" in cli("export", "dask-system").stdout


@pytest.mark.frameworks
def test_dask_reads_the_system_file_as_coiled_analytics_off(cli, tmp_path):
    from usagectl.frameworks.coiled.framework import OFF_VALUES

    assert cli("disable", "coiled").exit_code == 0
    system = tmp_path / "etc-dask"
    system.mkdir()
    assert cli("export", "dask-system", "--output", str(system / "zz-usagectl.yaml")).exit_code == 0
    code = ("import json, sys, dask.config as c; cfg = c.collect(paths=[sys.argv[1]], env={}); "
            "print(json.dumps({k: c.get(k, config=cfg) for k in json.loads(sys.argv[2])}))")
    out = subprocess.run([sys.executable, "-c", code, str(system), json.dumps([k for k, _ in OFF_VALUES])],
                         capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == {k: v for k, v in OFF_VALUES}


def test_the_dockerfile_policy_holds_every_user_of_the_image(cli, tmp_path):
    assert cli("disable", "ray").exit_code == 0
    assert cli("local", "parsl").exit_code == 0
    data = cli("export", "dockerfile", "--json").json()["data"]
    policy = consent.parse_policy(data["details"]["policy"].encode(), "policy.toml")
    assert policy.problem is None
    path = tmp_path / "policy.toml"
    path.write_text(data["details"]["policy"])
    nobody = {"USAGECTL_POLICY_FILE": str(path), "USAGECTL_CONFIG_DIR": str(tmp_path / "none")}
    assert consent.decide("ray", environ=nobody).mode == "off"
    assert consent.decide("parsl", environ=nobody).mode == "local"
    assert consent.decide("bacalhau", environ=nobody).mode == "unset"
    text = data["text"]
    assert 'RAY_USAGE_STATS_ENABLED="0"' in text and 'usagectl hook install --python' in text
    # The printf line, run by a real shell, writes exactly that policy.
    printf = [line for line in text.splitlines() if "printf" in line][0]
    command = printf.strip().removeprefix("&& ").split(" > ")[0]
    written = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout
    assert written == data["details"]["policy"]


def test_the_blackhole_in_a_start_command_is_placed_once_and_a_file_s_own_url_kept():
    from usagectl.frameworks.ray.export import patch_command

    once = patch_command("ulimit -n 65536; ray start --head", "http://127.0.0.1:9/")
    assert once == ("ulimit -n 65536; RAY_USAGE_STATS_REPORT_URL=http://127.0.0.1:9/ RAY_USAGE_STATS_ENABLED=0 "
                    "ray start --disable-usage-stats --head")
    assert patch_command(once, "http://127.0.0.1:9/") == once
    # Without a blackhole, a report URL the file sets itself stays where it is.
    own = "RAY_USAGE_STATS_REPORT_URL=http://mine/ ray start --head"
    assert patch_command(own) == ("RAY_USAGE_STATS_REPORT_URL=http://mine/ RAY_USAGE_STATS_ENABLED=0 "
                                  "ray start --disable-usage-stats --head")
    # A URL that needs quoting is quoted for the shell.
    assert "RAY_USAGE_STATS_REPORT_URL='http://127.0.0.1:9/?a=1&b=2' " in patch_command(
        "ray start", "http://127.0.0.1:9/?a=1&b=2")


CLUSTER_WITH_COMMENTS = """\
# head_start_ray_commands: [ray start --head]   (a comment naming ray start stays as it is)
cluster_name: demo
base: &base
  head_start_ray_commands:
    - ray stop
    # the next item starts the head: ray start --head
    - ulimit -n 65536; ray start --head --port=6379  # ray start, commented
    - 'echo "ray start is documented"; ray start --head --block'
<<: *base
worker_start_ray_commands:
  - ray stop
  - ray start --address=$RAY_HEAD_IP:6379
setup_commands:
  - echo ray start   # not a start command list: untouched
"""


def test_a_cluster_file_is_patched_only_where_it_means_to_be(cli, tmp_path):
    """A top-level merge key (`<<: *base`), comments and other keys that mention
    `ray start`: only the start commands' own scalars change, byte for byte elsewhere."""
    from usagectl.frameworks.ray.export import patch_command

    assert cli("disable").exit_code == 0
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER_WITH_COMMENTS)
    result = cli("export", "ray-cluster", str(path))
    assert result.exit_code == 0, result
    out = result.stdout
    before, after = CLUSTER_WITH_COMMENTS.splitlines(), out.splitlines()
    assert len(before) == len(after)
    changed = [number for number, (a, b) in enumerate(zip(before, after)) if a != b]
    assert changed == [6, 7, 11], changed  # the three `ray start` items, nothing else
    assert after[6] == "    - " + patch_command("ulimit -n 65536; ray start --head --port=6379") + \
        "  # ray start, commented"
    import yaml

    doc = yaml.safe_load(out)
    assert all("RAY_USAGE_STATS_ENABLED=0" in c for c in doc["head_start_ray_commands"] if "ray start" in c)
    assert doc["setup_commands"] == ["echo ray start"]


@pytest.mark.parametrize("text,said", [
    ("head_start_ray_commands: 5\n", "head_start_ray_commands must be a list of commands"),
    ("head_start_ray_commands: [1, 2]\nworker_start_ray_commands: []\n", "head_start_ray_commands must be a list"),
    ("head_start_ray_commands: [ray start]\nworker_start_ray_commands: {a: b}\n", "worker_start_ray_commands"),
    ("provider: local\n", "provider must be a mapping"),
    ("provider: {type: [x]}\n", "provider.type must be a string"),
    ("- a\n- b\n", "its top level is not a mapping"),
])
def test_a_wrong_typed_field_is_exit_2_naming_it(cli, tmp_path, text, said):
    assert cli("disable").exit_code == 0
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    result = cli("export", "ray-cluster", str(path))
    assert result.exit_code == 2 and said in result.stderr and "Traceback" not in result.stderr, result


def test_a_200_kb_command_line_is_patched(cli, tmp_path):
    # Its time is bench/bench_export.py's (the old matcher backtracked quadratically here).
    long_line = "echo " + "x" * 200_000 + "; ray start --head"
    assert cli("disable").exit_code == 0
    path = tmp_path / "cluster.yaml"
    path.write_text("head_start_ray_commands:\n  - %s\nworker_start_ray_commands: []\n" % long_line)
    result = cli("export", "ray-cluster", str(path))
    assert result.exit_code == 0, result
    assert result.stdout.endswith("; RAY_USAGE_STATS_ENABLED=0 ray start --disable-usage-stats --head\n"
                                  "worker_start_ray_commands: []\n")


MANIFEST = """\
%YAML 1.2
---
# an empty document follows
---
apiVersion: v1
kind: ConfigMap
metadata: {name: keep-me}   # untouched, flow style and all
data: {a: "1"}
...
---
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: demo
spec:
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        containers:
          - name: ray-head
            image: rayproject/ray:2.60.0
...
"""


def test_kuberay_keeps_directives_markers_and_untouched_documents_byte_for_byte(cli, tmp_path):
    import yaml

    assert cli("disable").exit_code == 0
    path = tmp_path / "m.yaml"
    path.write_text(MANIFEST)
    result = cli("export", "kuberay", str(path))
    assert result.exit_code == 0, result
    out = result.stdout
    head, _sep, _rest = MANIFEST.partition("apiVersion: ray.io/v1")
    assert out.startswith(head)  # %YAML, ---, the empty document, the ConfigMap and `...`: as they were
    assert out.rstrip().endswith("...") and "null" not in out
    docs = [d for d in yaml.safe_load_all(out.replace("%YAML 1.2\n", "")) if d]
    cluster = docs[-1]["spec"]["headGroupSpec"]
    assert cluster["rayStartParams"] == {"disable-usage-stats": "true"}
    assert {"name": "RAY_USAGE_STATS_ENABLED", "value": "0"} in cluster["template"]["spec"]["containers"][0]["env"]


@pytest.mark.parametrize("field,value,said", [
    ("rayStartParams", "[]", "headGroupSpec.rayStartParams must be a mapping"),
    ("template", "x", "headGroupSpec.template must be a mapping"),
    ("template", "{spec: {containers: {a: b}}}", "template.spec.containers must be a list"),
    ("template", "{spec: {containers: [{name: x, env: {a: b}}]}}", "containers[0].env must be a list"),
])
def test_kuberay_wrong_typed_fields_are_exit_2_naming_the_field(cli, tmp_path, field, value, said):
    assert cli("disable").exit_code == 0
    path = tmp_path / "m.yaml"
    path.write_text("apiVersion: ray.io/v1\nkind: RayCluster\nspec:\n  headGroupSpec:\n    %s: %s\n" % (field, value))
    result = cli("export", "kuberay", str(path))
    assert result.exit_code == 2 and said in result.stderr and "Traceback" not in result.stderr, result
    workers = tmp_path / "w.yaml"
    workers.write_text("apiVersion: ray.io/v1\nkind: RayCluster\nspec:\n  workerGroupSpecs: {a: b}\n")
    result = cli("export", "kuberay", str(workers))
    assert result.exit_code == 2 and "workerGroupSpecs must be a list" in result.stderr
