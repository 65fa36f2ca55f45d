#!/usr/bin/env bash
# FallWatch set-up for an NVIDIA Jetson on JetPack 6: one command, then walk away.
#
#   sudo install/jetson-setup.sh                 install (or finish an interrupted install)
#   sudo install/jetson-setup.sh --with-training also NVIDIA's TensorFlow, so `fallwatch train` runs here
#   sudo install/jetson-setup.sh --camera NAME   one more camera: /etc/fallwatch/NAME/config.toml and
#                                                fallwatch@NAME.service (models and engines are shared)
#   install/jetson-setup.sh --dry-run            print each step and whether it is already done
#   sudo install/jetson-setup.sh --uninstall     remove what this script added (keeps config and data)
#   sudo install/jetson-setup.sh --uninstall --purge   ... and /etc/fallwatch, /var/lib/fallwatch
#   (with --camera NAME, --uninstall [--purge] removes only that camera)
#
# Every step checks before it acts: a second run prints "already done" for each and changes nothing.
# A failed step stops the script with what to do; running it again resumes where it stopped.
# --root DIR (or FALLWATCH_ROOT=DIR) prefixes every path the script reads or writes, for tests in a
# scratch directory; --steps a,b runs only those steps.
set -euo pipefail

# ---- pinned versions (see the README's deploy section; verified only on a device) ----------------
# jetson-utils: the v1 branch head (2024-10): sm_87, Python 3.10 bindings, Capture(format, timeout,
# stream). master (v2) imports termcolor, tabulate, requests and docker at import time.
JETSON_UTILS_REPO="https://github.com/dusty-nv/jetson-utils"
JETSON_UTILS_COMMIT="6d5471c97dad443776d2339569a4d1145f034a9e"
# The venv's own tools, pinned so that a rerun builds the same way.
VENV_TOOLS=("pip==24.3.1" "setuptools==75.8.0" "wheel==0.45.1")
# trt_pose's network is exported to ONNX once, on the CPU, in a throwaway venv: PyPI's aarch64 torch
# (a CPU build: no NVIDIA wheel and nothing built from source), removed again afterwards.
EXPORT_TORCH="torch==2.9.1"
# TensorFlow for JetPack (--with-training only).
TF_URL_JP60="https://developer.download.nvidia.com/compute/redist/jp/v60/tensorflow/tensorflow-2.16.1+nv24.07-cp310-cp310-linux_aarch64.whl"
TF_URL_JP61="https://developer.download.nvidia.com/compute/redist/jp/v61/tensorflow/tensorflow-2.16.1+nv24.08-cp310-cp310-linux_aarch64.whl"
# trt_pose's resnet18 weights, from the Google Drive link in trt_pose's README.
WEIGHTS_NAME="resnet18_baseline_att_224x224_A_epoch_249.pth"
WEIGHTS_URL="https://drive.usercontent.google.com/download?id=1XYDdCUdiF2xxx4rznmLb62SdOUZuoNbd&export=download&confirm=t"
# The weights' SHA-256 was not known when this script was written (it could not be downloaded where
# it was written). Empty: the first download is recorded (trust on first use) with a loud warning,
# later runs check the file against that record. Paste the printed value here to pin it.
WEIGHTS_SHA256=""

# nvidia-jetpack: TensorRT with its Python bindings, CUDA, cuDNN and NPP (a minimal flash may lack it).
# The GStreamer -dev packages build jetson-utils (plugins-bad: its WebRTC code).
APT_PACKAGES=(
	nvidia-jetpack
	python3-venv python3-pip python3-dev git cmake build-essential pkg-config curl ca-certificates
	python3-matplotlib
	libglew-dev libsoup2.4-dev libjson-glib-dev libgstrtspserver-1.0-dev libgstreamer-plugins-bad1.0-dev
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-rtsp v4l-utils
	libhdf5-dev espeak-ng alsa-utils
)

# ---- paths (all under $ROOT) ----------------------------------------------------------------------
ROOT="${FALLWATCH_ROOT:-}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$REPO/install/jetson-setup.sh"
PREFIX_REL="/opt/fallwatch"
STATE_REL="/var/lib/fallwatch"
USER_NAME="fallwatch"
STEPS_ALL=(packages user udev venv jetson_utils fallwatch models weights pose_onnx pose_engine gru_engine
	training config service)

DRY_RUN=0
UNINSTALL=0
PURGE=0
WITH_TRAINING=0
ONLY=""
CAMERA="" # --camera NAME: the config and service steps set up fallwatch@NAME instead of fallwatch
JP="" # "60" or "61": which NVIDIA wheel set fits this JetPack

usage() {
	sed -n '2,16p' "$SELF" | sed 's/^# \{0,1\}//'
	cat <<EOF
Options: --dry-run --uninstall --purge --with-training --camera NAME --root DIR --steps a,b,... --help
Steps: ${STEPS_ALL[*]}
EOF
}

log() { printf '[fallwatch-setup] %s\n' "$*"; }
warn() { printf '[fallwatch-setup] WARNING: %s\n' "$*" >&2; }
die() {
	printf '[fallwatch-setup] ERROR: %s\n' "$*" >&2
	exit 1
}

parse_args() {
	while (($#)); do
		case "$1" in
		--dry-run) DRY_RUN=1 ;;
		--uninstall) UNINSTALL=1 ;;
		--purge) PURGE=1 ;;
		--with-training) WITH_TRAINING=1 ;;
		--root)
			(($# >= 2)) || die "--root needs a directory"
			ROOT="$2"
			shift
			;;
		--root=*) ROOT="${1#--root=}" ;;
		--steps)
			(($# >= 2)) || die "--steps needs a comma-separated list; steps: ${STEPS_ALL[*]}"
			ONLY="$2"
			shift
			;;
		--steps=*) ONLY="${1#--steps=}" ;;
		--camera)
			if (($# < 2)) || [[ -z "$2" ]]; then die "--camera needs a name, e.g. --camera kitchen"; fi
			CAMERA="$2"
			shift
			;;
		--camera=*) CAMERA="${1#--camera=}" ;;
		-h | --help)
			usage
			exit 0
			;;
		*) die "unknown option '$1' (see --help)" ;;
		esac
		shift
	done
	if ((PURGE && !UNINSTALL)); then die "--purge only goes with --uninstall"; fi
	if [[ -n "$CAMERA" && ! "$CAMERA" =~ ^[a-z0-9][a-z0-9_-]{0,31}$ ]]; then
		die "--camera '$CAMERA': use 1-32 lower-case letters, digits, '-' or '_' (it names a systemd instance and folders)"
	fi
	if ((UNINSTALL)) && [[ -n "$CAMERA" && -z "$ONLY" ]]; then ONLY="config,service"; fi
	if [[ -n "$ROOT" ]]; then
		[[ -d "$ROOT" ]] || die "--root $ROOT: no such directory"
		ROOT="$(cd "$ROOT" && pwd)"
	fi
	local step
	for step in ${ONLY//,/ }; do
		[[ " ${STEPS_ALL[*]} " == *" $step "* ]] || die "--steps: unknown step '$step'; steps: ${STEPS_ALL[*]}"
	done
	PREFIX="$ROOT$PREFIX_REL"
	VENV="$PREFIX/venv"
	PY="$VENV/bin/python"
	SRC="$PREFIX/src"
	STATE="$ROOT$STATE_REL"
	MODELS="$STATE/models"
	EXPORT_VENV="$PREFIX/export-venv"
	if [[ -n "$CAMERA" ]]; then
		CONFIG_REL="/etc/fallwatch/$CAMERA/config.toml"
		UNIT_FILE="fallwatch@.service"
		SERVICE="fallwatch@$CAMERA.service"
		CAMERA_STATE_REL="$STATE_REL/$CAMERA"
	else
		CONFIG_REL="/etc/fallwatch/config.toml"
		UNIT_FILE="fallwatch.service"
		SERVICE="fallwatch.service"
		CAMERA_STATE_REL="$STATE_REL"
	fi
	CONFIG="$ROOT$CONFIG_REL"
	UNIT="$ROOT/etc/systemd/system/$UNIT_FILE"
	WANTS_LINK="$ROOT/etc/systemd/system/multi-user.target.wants/$SERVICE"
	UDEV_RULE="$ROOT/etc/udev/rules.d/99-fallwatch-gpio.rules"
	MANIFEST="$PREFIX/setup-manifest"
	ROOT_OPT=()
	if [[ -n "$ROOT" ]]; then ROOT_OPT=(--root "$ROOT"); fi
}

# JetPack 6 is L4T R36 (/etc/nv_tegra_release: "# R36 (release), REVISION: 4.0, ..."); refuse others.
detect_jetpack() {
	local file="$ROOT/etc/nv_tegra_release" line release
	[[ -f "$file" ]] || die "this is not a Jetson ($file not found). FallWatch's set-up script is for a Jetson on JetPack 6; on any other Linux use 'make demo' / 'pip install .[cpu]' (see README)."
	line="$(head -n 1 "$file")"
	release="$(sed -n 's/^# R\([0-9]*\) (release), REVISION: \([0-9.]*\).*/\1/p' <<<"$line")"
	L4T_REVISION="$(sed -n 's/^# R\([0-9]*\) (release), REVISION: \([0-9.]*\).*/\2/p' <<<"$line")"
	[[ -n "$release" && -n "$L4T_REVISION" ]] || die "cannot read the L4T release from $file ('$line'); expected '# R36 (release), REVISION: 4.0, ...'"
	case "$release" in
	36) ;;
	32) die "L4T R$release.$L4T_REVISION is JetPack 4 (the original Jetson Nano, Python 3.6): not supported. FallWatch needs JetPack 6 (L4T R36) on a Jetson Orin; the Nano cannot run JetPack 6." ;;
	*) die "L4T R$release.$L4T_REVISION is not JetPack 6. FallWatch needs JetPack 6 (L4T R36.3 or newer): flash it with NVIDIA SDK Manager or the SD card image, then run this script again." ;;
	esac
	case "${L4T_REVISION%%.*}" in
	3) JP="60" ;;
	4 | 5 | 6 | 7 | 8 | 9) JP="61" ;;
	*) die "L4T R36.$L4T_REVISION is a JetPack 6 developer preview; FallWatch needs JetPack 6.0 GA (R36.3) or newer: upgrade with 'sudo apt update && sudo apt dist-upgrade' or reflash." ;;
	esac
	log "L4T R$release.$L4T_REVISION: JetPack 6 (wheels for jp/v$JP)"
}

# ---- helpers -------------------------------------------------------------------------------------
live() { [[ -z "$ROOT" ]]; }
in_manifest() { [[ -f "$MANIFEST" ]] && grep -qxF "$1" "$MANIFEST"; }
add_manifest() {
	mkdir -p "$(dirname "$MANIFEST")"
	in_manifest "$1" || printf '%s\n' "$1" >>"$MANIFEST"
}
drop_manifest() {
	[[ -f "$MANIFEST" ]] || return 0
	grep -vxF "$1" "$MANIFEST" >"$MANIFEST.tmp" || true
	mv "$MANIFEST.tmp" "$MANIFEST"
}
passwd_field() { awk -F: -v u="$1" -v f="$2" '$1 == u { print $f }' "$ROOT/etc/passwd" 2>/dev/null; }
group_exists() { grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; }
in_group() { awk -F: -v g="$1" -v u="$2" '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) f = 1 } END { exit !f }' "$ROOT/etc/group" 2>/dev/null; }
owner_ids() { printf '%s:%s' "$(passwd_field "$USER_NAME" 3)" "$(passwd_field "$USER_NAME" 4)"; }
# The service runs as $USER_NAME: whatever a step writes under /var/lib/fallwatch must be its own (the
# classifier rebuilds a stale engine there at start).
own_state() { if [[ -n "$(passwd_field "$USER_NAME" 1)" && -d "$STATE" ]]; then chown -R "$(owner_ids)" "$STATE"; fi; }
same_file() { [[ -f "$2" ]] && cmp -s "$1" "$2"; }
py_ok() { [[ -x "$PY" ]] && "$PY" -c "$1" >/dev/null 2>&1; }
clone_at() { # clone_at URL DIR COMMIT: a checkout of exactly COMMIT
	if [[ ! -d "$2/.git" ]]; then git clone --quiet "$1" "$2"; fi
	git -C "$2" fetch --quiet origin "$3" 2>/dev/null || git -C "$2" fetch --quiet origin
	git -C "$2" checkout --quiet --detach "$3"
}
at_commit() { [[ -d "$1/.git" ]] && [[ "$(git -C "$1" rev-parse HEAD 2>/dev/null)" == "$2"* ]]; }
pip_install() { "$VENV/bin/pip" install --no-input --disable-pip-version-check "$@"; }
tf_url() { if [[ "$JP" == "60" ]]; then echo "$TF_URL_JP60"; else echo "$TF_URL_JP61"; fi; }

# ---- steps: describe_X, check_X (0 = already done; reads only), do_X, undo_X, fix_X -----------------
describe_packages() { echo "Debian packages: ${APT_PACKAGES[*]}"; }
missing_packages() {
	local p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
	done
}
check_packages() { [[ -z "$(missing_packages)" ]]; }
do_packages() {
	local missing
	mapfile -t missing < <(missing_packages)
	log "  installing: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
	local p
	for p in "${missing[@]}"; do add_manifest "apt:$p"; done
}
undo_packages() {
	local pkgs
	mapfile -t pkgs < <(sed -n 's/^apt://p' "$MANIFEST" 2>/dev/null)
	if ((${#pkgs[@]})); then
		log "  removing packages this script installed: ${pkgs[*]}"
		apt-get remove -y -qq "${pkgs[@]}"
		local p
		for p in "${pkgs[@]}"; do drop_manifest "apt:$p"; done
	fi
}
fix_packages() { echo "check the network and the apt-get messages above ('sudo apt-get update' must succeed), then run this script again"; }

describe_user() { echo "system user '$USER_NAME' in the gpio and video groups (group gpio created if missing)"; }
check_user() { [[ -n "$(passwd_field "$USER_NAME" 1)" ]] && group_exists gpio && in_group gpio "$USER_NAME" && in_group video "$USER_NAME"; }
do_user() {
	if ! group_exists gpio; then
		log "  creating group gpio"
		groupadd "${ROOT_OPT[@]}" --system gpio
		add_manifest "group:gpio"
	fi
	group_exists video || die "group 'video' is missing: JetPack creates it; is this a JetPack image?"
	if [[ -z "$(passwd_field "$USER_NAME" 1)" ]]; then
		log "  creating system user $USER_NAME"
		useradd "${ROOT_OPT[@]}" --system --user-group --home-dir "$STATE_REL" --no-create-home \
			--shell /usr/sbin/nologin --groups gpio,video --comment "FallWatch service" "$USER_NAME"
		add_manifest "user:$USER_NAME"
	fi
	local g
	for g in gpio video; do
		if ! in_group "$g" "$USER_NAME"; then
			log "  adding $USER_NAME to group $g"
			usermod "${ROOT_OPT[@]}" --append --groups "$g" "$USER_NAME"
		fi
	done
}
undo_user() {
	if in_manifest "user:$USER_NAME"; then
		log "  removing user $USER_NAME"
		userdel "${ROOT_OPT[@]}" "$USER_NAME"
		drop_manifest "user:$USER_NAME"
	fi
	if in_manifest "group:gpio"; then
		log "  removing group gpio"
		groupdel "${ROOT_OPT[@]}" gpio
		drop_manifest "group:gpio"
	fi
}
fix_user() { echo "run as root (sudo); check 'getent passwd $USER_NAME' and 'getent group gpio video'"; }

describe_udev() { echo "udev rule giving group gpio the GPIO chips ($UDEV_RULE)"; }
check_udev() { same_file "$REPO/install/99-fallwatch-gpio.rules" "$UDEV_RULE"; }
do_udev() {
	install -D -m 0644 "$REPO/install/99-fallwatch-gpio.rules" "$UDEV_RULE"
	if live; then
		udevadm control --reload-rules
		udevadm trigger --subsystem-match=gpio
	fi
}
undo_udev() {
	if [[ -f "$UDEV_RULE" ]]; then
		rm -f "$UDEV_RULE"
		if live; then udevadm control --reload-rules; fi
	fi
}
fix_udev() { echo "check that $(dirname "$UDEV_RULE") is writable and 'udevadm control --reload-rules' works"; }

describe_venv() { echo "Python venv $VENV that sees JetPack's TensorRT and OpenCV (--system-site-packages)"; }
check_venv() { [[ -x "$PY" ]] && grep -qx "include-system-site-packages = true" "$VENV/pyvenv.cfg"; }
do_venv() {
	rm -rf "$VENV"
	python3 -m venv --system-site-packages "$VENV"
	pip_install --quiet "${VENV_TOOLS[@]}" "numpy<2"
}
undo_venv() { rm -rf "$VENV"; }
fix_venv() { echo "install python3-venv (step 'packages') and check free disk space ('df -h /opt')"; }

describe_jetson_utils() { echo "jetson-utils at $JETSON_UTILS_COMMIT (v1 branch; camera and video output), built with CMake"; }
check_jetson_utils() { at_commit "$SRC/jetson-utils" "$JETSON_UTILS_COMMIT" && [[ -f "$SRC/jetson-utils/build/install_manifest.txt" ]] && py_ok "import jetson_utils"; }
do_jetson_utils() {
	clone_at "$JETSON_UTILS_REPO" "$SRC/jetson-utils" "$JETSON_UTILS_COMMIT"
	cmake -S "$SRC/jetson-utils" -B "$SRC/jetson-utils/build" -DCMAKE_BUILD_TYPE=Release
	cmake --build "$SRC/jetson-utils/build" -j "$(nproc)"
	cmake --install "$SRC/jetson-utils/build"
	if live; then ldconfig; fi
}
undo_jetson_utils() {
	local manifest="$SRC/jetson-utils/build/install_manifest.txt"
	if [[ -f "$manifest" ]]; then
		log "  removing the files jetson-utils installed (listed in $manifest)"
		xargs -r -d '\n' rm -f <"$manifest"
	fi
	rm -rf "$SRC/jetson-utils"
}
fix_jetson_utils() { echo "check the CMake/compiler messages above; jetson-utils needs the JetPack CUDA toolkit and the GStreamer packages (step packages)"; }

describe_fallwatch() { echo "FallWatch itself ($REPO) into the venv, with the jetson extra"; }
source_stamp() { (cd "$REPO" && { git rev-parse HEAD 2>/dev/null || echo unknown; } && git status --porcelain 2>/dev/null | sha256sum | cut -c1-16); }
check_fallwatch() { [[ -x "$VENV/bin/fallwatch" ]] && [[ -f "$PREFIX/fallwatch.stamp" ]] && [[ "$(cat "$PREFIX/fallwatch.stamp")" == "$(source_stamp)" ]]; }
do_fallwatch() {
	pip_install --no-cache-dir "${REPO}[jetson]"
	source_stamp >"$PREFIX/fallwatch.stamp"
}
undo_fallwatch() { rm -f "$PREFIX/fallwatch.stamp"; }
fix_fallwatch() { echo "check the pip messages above; 'pip install ${REPO}[jetson]' must work inside $VENV"; }

describe_models() { echo "the shipped classifier ($REPO/models) copied to $MODELS"; }
check_models() {
	local f
	[[ -f "$REPO/models/fallwatch.onnx" ]] || return 1
	for f in "$REPO"/models/*; do
		[[ -f "$f" ]] || continue
		same_file "$f" "$MODELS/$(basename "$f")" || return 1
	done
}
do_models() {
	[[ -f "$REPO/models/fallwatch.onnx" ]] || die "$REPO/models/fallwatch.onnx is missing: pull the repository again (or train and export a model: fallwatch train / fallwatch export)"
	mkdir -p "$MODELS"
	local f
	for f in "$REPO"/models/*; do
		if [[ -f "$f" ]]; then install -m 0644 "$f" "$MODELS/"; fi
	done
	own_state
}
undo_models() { :; } # $MODELS is data: removed with --purge
fix_models() { echo "the repository must hold models/fallwatch.onnx"; }

describe_weights() { echo "trt_pose weights $WEIGHTS_NAME (81 MB), checked by SHA-256"; }
check_weights() {
	local file="$MODELS/$WEIGHTS_NAME" want
	[[ -f "$file" ]] || return 1
	want="${WEIGHTS_SHA256:-$(cat "$file.sha256" 2>/dev/null)}"
	[[ -n "$want" && "$(sha256sum "$file" | cut -d' ' -f1)" == "$want" ]]
}
do_weights() {
	local file="$MODELS/$WEIGHTS_NAME" tmp got
	mkdir -p "$MODELS"
	tmp="$(mktemp "$MODELS/.weights.XXXXXX")"
	if [[ -n "${FALLWATCH_TRT_POSE_WEIGHTS:-}" ]]; then
		log "  using the copy at FALLWATCH_TRT_POSE_WEIGHTS=$FALLWATCH_TRT_POSE_WEIGHTS"
		cp "$FALLWATCH_TRT_POSE_WEIGHTS" "$tmp"
	else
		log "  downloading from Google Drive (trt_pose's README link)"
		curl -fL --retry 3 -o "$tmp" "$WEIGHTS_URL"
	fi
	if [[ "$(head -c 1 "$tmp")" == "<" ]] || (($(stat -c %s "$tmp") < 10000000)); then
		rm -f "$tmp"
		die "the download is not the weights file (Google Drive sent a web page: quota or link change). Download $WEIGHTS_NAME by hand from https://github.com/NVIDIA-AI-IOT/trt_pose#human-pose-estimation and run: sudo FALLWATCH_TRT_POSE_WEIGHTS=/path/to/$WEIGHTS_NAME $SELF"
	fi
	got="$(sha256sum "$tmp" | cut -d' ' -f1)"
	local want="${WEIGHTS_SHA256:-${FALLWATCH_WEIGHTS_SHA256:-}}"
	if [[ -n "$want" && "$got" != "$want" ]]; then
		rm -f "$tmp"
		die "$WEIGHTS_NAME has SHA-256 $got, expected $want: a corrupt or different file. Delete nothing; download it again or check the source."
	fi
	if [[ -z "$want" ]]; then
		warn "================================================================================"
		warn "$WEIGHTS_NAME was NOT checked against a known SHA-256: none was pinned"
		warn "in this script. Recorded its SHA-256 ($got) in $file.sha256;"
		warn "later runs check the file against it. To pin it, set WEIGHTS_SHA256=\"$got\""
		warn "in install/jetson-setup.sh once you trust this copy."
		warn "================================================================================"
		printf '%s\n' "$got" >"$file.sha256"
	fi
	chmod 0644 "$tmp"
	mv "$tmp" "$file"
	own_state
}
undo_weights() { :; } # data: removed with --purge
fix_weights() { echo "see the message above; a pre-downloaded copy can be given with FALLWATCH_TRT_POSE_WEIGHTS=/path/to/$WEIGHTS_NAME"; }

POSE_ONNX_REL="$STATE_REL/models/trt_pose_resnet18_att_224.onnx"
describe_pose_onnx() { echo "trt_pose's network exported to ONNX on the CPU ($EXPORT_TORCH from PyPI in a throwaway venv; minutes)"; }
check_pose_onnx() { # the ONNX and its record, made from exactly these weights
	local onnx="$ROOT$POSE_ONNX_REL" weights="$MODELS/$WEIGHTS_NAME"
	[[ -f "$onnx" && -f "$onnx.json" && -f "$weights" ]] || return 1
	grep -q "\"weights_sha256\": \"$(sha256sum "$weights" | cut -d' ' -f1)\"" "$onnx.json"
}
do_pose_onnx() {
	rm -rf "$EXPORT_VENV"
	python3 -m venv "$EXPORT_VENV"
	"$EXPORT_VENV/bin/pip" install --no-input --disable-pip-version-check --quiet "${VENV_TOOLS[@]}"
	"$EXPORT_VENV/bin/pip" install --no-input --disable-pip-version-check "$EXPORT_TORCH" "${REPO}[export]"
	"$EXPORT_VENV/bin/fallwatch" pose export "$MODELS/$WEIGHTS_NAME" --output "$ROOT$POSE_ONNX_REL"
	rm -rf "$EXPORT_VENV"
	own_state
}
undo_pose_onnx() { rm -rf "$EXPORT_VENV"; } # the ONNX is data: removed with --purge
fix_pose_onnx() { echo "the export needs the network for PyPI (torch, onnx) and the weights (step weights); check the messages above"; }

describe_pose_engine() { echo "trt_pose's TensorRT FP16 engine for this device, from its ONNX (the classifier's builder; minutes)"; }
check_pose_engine() {
	py_ok "
import sys
from edge.classifier.tensorrt import import_tensorrt, read_record, record_mismatch, system_record
trt, cuda = import_tensorrt()
engine = '$ROOT${POSE_ONNX_REL%.onnx}.engine'
sys.exit(1 if record_mismatch(read_record(engine), system_record(trt, cuda, '$ROOT$POSE_ONNX_REL', 1)) else 0)"
}
do_pose_engine() {
	"$PY" -c "
from edge.classifier.tensorrt import build_engine
build_engine('$ROOT$POSE_ONNX_REL', '$ROOT${POSE_ONNX_REL%.onnx}.engine', max_batch=1, fp16=True)"
	own_state
}
undo_pose_engine() { :; } # data: removed with --purge
fix_pose_engine() { echo "the engine build needs the GPU and JetPack's TensorRT (step packages: nvidia-jetpack); check the TensorRT messages above"; }

describe_gru_engine() { echo "the fall classifier's TensorRT FP16 engine for this device (from fallwatch.onnx)"; }
check_gru_engine() {
	py_ok "
import sys
from edge.classifier.tensorrt import import_tensorrt, read_record, record_mismatch, system_record
trt, cuda = import_tensorrt()
engine = '$MODELS/fallwatch.engine'
sys.exit(1 if record_mismatch(read_record(engine), system_record(trt, cuda, '$MODELS/fallwatch.onnx', 8)) else 0)"
}
do_gru_engine() {
	"$PY" -c "
from edge.classifier.tensorrt import build_engine
build_engine('$MODELS/fallwatch.onnx', '$MODELS/fallwatch.engine', max_batch=8, fp16=True)"
	own_state
}
undo_gru_engine() { :; } # data: removed with --purge
fix_gru_engine() { echo "the engine build needs the GPU and JetPack's TensorRT; check the TensorRT messages above"; }

describe_training() { echo "NVIDIA's TensorFlow for JetPack (only with --with-training)"; }
check_training() { py_ok "import tensorflow"; }
do_training() { pip_install --no-cache-dir "$(tf_url)" "onnx==1.17.0"; } # onnx: fallwatch export
undo_training() { :; } # inside the venv, removed with it
fix_training() { echo "check the network and the wheel URL $(tf_url); TensorFlow needs libhdf5-dev (step packages)"; }

describe_config() { echo "$CONFIG (mode 0600, owner $USER_NAME) from install/config.example.toml, set for a Jetson${CAMERA:+ and camera $CAMERA}"; }
# sed expressions that make the example this camera's config; each must change a line (checked).
config_edits() {
	printf '%s\n' 's|^type = "mediapipe"$|type = "trt_pose"|' \
		"s|^model = \"models/fallwatch.onnx\"$|model = \"$STATE_REL/models/fallwatch.onnx\"|"
	if [[ -z "$CAMERA" ]]; then
		printf '%s\n' 's|^backend = "simulated"$|backend = "jetson"|'
	else # its own room name, events log, state file and outbox; the pins stay with the first camera
		printf '%s\n' "s|^room = \"room\"$|room = \"$CAMERA\"|"
		local key
		for key in events state outbox; do
			printf '%s\n' "s|^$key = \"$STATE_REL/\([a-z_.]*\)\"$|$key = \"$CAMERA_STATE_REL/\1\"|"
		done
	fi
}
config_wants() { # lines the written config must hold
	printf '%s\n' 'type = "trt_pose"' "model = \"$STATE_REL/models/fallwatch.onnx\""
	if [[ -z "$CAMERA" ]]; then
		printf '%s\n' 'backend = "jetson"'
	else
		printf '%s\n' "room = \"$CAMERA\"" "events = \"$CAMERA_STATE_REL/events.jsonl\"" "outbox = \"$CAMERA_STATE_REL/outbox.sqlite\""
	fi
}
check_config() {
	[[ -f "$CONFIG" ]] && [[ "$(stat -c '%a %u:%g' "$CONFIG")" == "600 $(owner_ids)" ]]
}
do_config() {
	[[ -n "$(passwd_field "$USER_NAME" 1)" ]] || die "user $USER_NAME does not exist yet: run the 'user' step first"
	if [[ -f "$CONFIG" ]]; then
		log "  $CONFIG exists (your settings are kept): fixing its owner and mode only"
	else
		local example="$REPO/install/config.example.toml" tmp
		[[ -f "$example" ]] || die "$example is missing: pull the repository again"
		mkdir -p "$(dirname "$CONFIG")"
		tmp="$(mktemp "$CONFIG.XXXXXX")"
		# The Jetson's choices: trt_pose, the GPIO pins, the model where its engine can be written;
		# for a further camera its own room, events log, state file and outbox.
		local edits=() edit want
		while IFS= read -r edit; do edits+=(-e "$edit"); done < <(config_edits)
		sed "${edits[@]}" "$example" >"$tmp"
		while IFS= read -r want; do
			grep -qxF "$want" "$tmp" || {
				rm -f "$tmp"
				die "could not set '$want' in the config: install/config.example.toml changed its layout; update config_edits in $SELF"
			}
		done < <(config_wants)
		chmod 0600 "$tmp"
		mv "$tmp" "$CONFIG"
		add_manifest "config${CAMERA:+:$CAMERA}"
		if [[ -n "$CAMERA" ]]; then
			warn "camera $CAMERA: gpio.backend = \"simulated\" (the header pins belong to the first camera); to sound a buzzer in its room, wire three more GPIO pins and set them with backend = \"jetson\" in $CONFIG_REL"
		fi
	fi
	chmod 0600 "$CONFIG"
	chown "$(owner_ids)" "$CONFIG" "$(dirname "$CONFIG")"
	chmod 0750 "$(dirname "$CONFIG")"
}
undo_config() {
	if ((PURGE)); then
		log "  removing $(dirname "$CONFIG") (--purge)"
		rm -rf "$(dirname "$CONFIG")"
		if [[ -n "$CAMERA" ]]; then rm -rf "$ROOT$CAMERA_STATE_REL"; fi
		drop_manifest "config${CAMERA:+:$CAMERA}"
	elif [[ -f "$CONFIG" ]]; then
		log "  keeping $CONFIG (your settings and tokens; --purge removes it)"
	fi
}
fix_config() { echo "check that $(dirname "$CONFIG") is writable and the user step succeeded"; }

describe_service() { echo "systemd unit $SERVICE installed, enabled at boot and started"; }
check_service() {
	same_file "$REPO/install/$UNIT_FILE" "$UNIT" && [[ -L "$WANTS_LINK" ]] || return 1
	if live; then systemctl is-active --quiet "$SERVICE"; fi
}
do_service() {
	local changed=0
	if ! same_file "$REPO/install/$UNIT_FILE" "$UNIT"; then
		install -D -m 0644 "$REPO/install/$UNIT_FILE" "$UNIT"
		changed=1
	fi
	if live; then
		systemctl daemon-reload
		systemctl enable "$SERVICE"
		own_state
		if ((changed)); then systemctl restart "$SERVICE"; else systemctl start "$SERVICE"; fi
		log "  started; follow it with: journalctl -u $SERVICE -f"
	else
		systemctl --root="$ROOT" enable "$SERVICE"
	fi
}
undo_service() {
	if live && [[ -f "$UNIT" ]]; then
		systemctl disable --now "$SERVICE" || true
	elif [[ -L "$WANTS_LINK" ]]; then
		rm -f "$WANTS_LINK"
	fi
	# The template stays while another camera's instance still uses it.
	if [[ -z "$CAMERA" ]] || ! compgen -G "$ROOT/etc/systemd/system/multi-user.target.wants/fallwatch@*.service" >/dev/null; then
		rm -f "$UNIT"
	fi
	if live; then systemctl daemon-reload; fi
}
fix_service() { echo "see 'systemctl status $SERVICE' and 'journalctl -u $SERVICE -b'; 'fallwatch doctor --config $CONFIG_REL' names what is missing"; }

# ---- the runner ----------------------------------------------------------------------------------
selected_steps() {
	local s
	for s in "${STEPS_ALL[@]}"; do
		if [[ -n "$ONLY" && ",$ONLY," != *",$s,"* ]]; then continue; fi
		# TensorFlow only on request; an uninstall undoes every step anyway.
		if [[ "$s" == training ]] && ((!WITH_TRAINING && !UNINSTALL)); then continue; fi
		echo "$s"
	done
}

run_step() { # run_step NAME N TOTAL
	local name="$1" rc
	log "[$2/$3] $name: $("describe_$name")"
	if "check_$name"; then
		log "  already done"
		return 0
	fi
	if ((DRY_RUN)); then
		log "  to do (dry run: nothing changed)"
		return 0
	fi
	set +e
	(
		set -e
		"do_$name"
	)
	rc=$?
	set -e
	if ((rc != 0)) || ! "check_$name"; then
		die "step '$name' failed. To fix: $("fix_$name"). Then run $SELF again: finished steps are skipped."
	fi
	log "  done"
}

main() {
	parse_args "$@"
	local steps n=0
	mapfile -t steps < <(selected_steps)
	if ((UNINSTALL)); then
		if ((!DRY_RUN)) && live && ((EUID != 0)); then die "--uninstall needs root: sudo $SELF --uninstall"; fi
		local i
		for ((i = ${#steps[@]} - 1; i >= 0; i--)); do
			n=$((n + 1))
			log "[$n/${#steps[@]}] undo ${steps[i]}"
			if ((!DRY_RUN)); then "undo_${steps[i]}"; fi
		done
		if ((!DRY_RUN)) && [[ -z "$ONLY" ]]; then
			rm -rf "$SRC" "$VENV"
			if ((PURGE)); then rm -rf "$STATE"; fi
		fi
		if ((!DRY_RUN)) && [[ -f "$MANIFEST" && ! -s "$MANIFEST" ]]; then rm -f "$MANIFEST"; fi
		if ((!DRY_RUN)); then rmdir "$SRC" "$PREFIX" 2>/dev/null || true; fi
		if ((PURGE)); then
			log "uninstalled, configuration and data included"
		else
			log "uninstalled; kept $CONFIG_REL and $STATE_REL (your settings, events and outbox; --purge removes them)"
		fi
		return 0
	fi
	detect_jetpack
	if ((!DRY_RUN)) && live && ((EUID != 0)); then die "run as root: sudo $SELF"; fi
	for step in "${steps[@]}"; do
		n=$((n + 1))
		run_step "$step" "$n" "${#steps[@]}"
	done
	if ((DRY_RUN)); then log "dry run finished: nothing was changed"; else log "FallWatch is installed. Check it with: sudo $PREFIX_REL/venv/bin/fallwatch doctor --config $CONFIG_REL"; fi
}

main "$@"
