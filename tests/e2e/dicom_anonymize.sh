#!/usr/bin/env bash
# citadel dicom-anonymize end to end, on files made by DCMTK's own tools (img2dcm from a BMP,
# dcmodify for the patient's data and a private tag): dcmdump of the output shows no patient name,
# ID, birth date, institution, accession number or physician; UIDs are new, the same study stays
# one study across files of a run and the meta header agrees; the pixels are unchanged
# (dcm2pnm before and after); folders; --clean-descriptions through the PII redactor; burned-in
# text refused; nothing the tool prints names a patient.
set -euo pipefail
bin=${1:?usage: dicom_anonymize.sh CITADEL_BINARY}
for tool in img2dcm dcmodify dcmdump dcm2pnm python3; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not found (Debian packages dcmtk, python3)"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
passed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }

# A 24-bit BMP of 31x9 pixels (odd width: row padding), bottom-up BGR rows.
python3 - "$work/in.bmp" <<'PY'
import struct, sys
w, h = 31, 9
stride = (w * 3 + 3) & ~3
rows = b""
for y in range(h - 1, -1, -1):
    row = bytes(v for x in range(w) for v in ((x * 8) % 256, (y * 28) % 256, (x * y * 5) % 256))
    rows += row + b"\0" * (stride - len(row))
hdr = b"BM" + struct.pack("<IHHI", 54 + len(rows), 0, 0, 54)
hdr += struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
open(sys.argv[1], "wb").write(hdr + rows)
PY
mkdir -p "$work/study"
for n in 1 2; do
  img2dcm -i BMP "$work/in.bmp" "$work/study/img$n.dcm" >/dev/null 2>&1 || fail "img2dcm"
  dcmodify -nb -i "PatientName=Doe^Jane" -i "PatientID=MRN-4471-2209" -i "PatientBirthDate=19610312" \
    -i "InstitutionName=St Example General Hospital" -i "AccessionNumber=ACC-99812" \
    -i "ReferringPhysicianName=House^Gregory" -i "StudyInstanceUID=1.2.826.0.1.3680043.99.7" \
    -i "SeriesInstanceUID=1.2.826.0.1.3680043.99.8" -i "SOPInstanceUID=1.2.826.0.1.3680043.99.9.$n" \
    -i "StudyDescription=CT chest, questions to jane.doe@example.com" -i "Modality=OT" \
    -i "(0009,0010)=ACME private" -i "(0009,1001)=Doe^Jane" "$work/study/img$n.dcm" >/dev/null 2>&1 \
    || fail "dcmodify"
done
orig=$(dcmdump "$work/study/img1.dcm")  # (no grep -q on a live pipe: SIGPIPE under pipefail)
grep -q "Doe^Jane" <<<"$orig" || fail "the test file lacks the patient name"
grep -q "(0009,0010) LO \[ACME" <<<"$orig" || fail "the test file lacks the private tag"

# ---- one file ----
"$bin" dicom-anonymize "$work/study/img1.dcm" "$work/one.dcm" 2>"$work/one.err" || fail "exit $?: $(cat "$work/one.err")"
dump=$(dcmdump "$work/one.dcm")
for secret in "Doe" "MRN-4471" "19610312" "Example General" "ACC-99812" "House" "ACME" "jane.doe" "1.2.826.0.1.3680043.99"; do
  ! grep -q "$secret" <<<"$dump" || fail "dcmdump shows '$secret': $(grep "$secret" <<<"$dump")"
done
ok "dcmdump of the output shows no name, ID, birth date, institution, accession, physician, private tag or old UID"
grep -q "(0010,0010) PN (no value available)" <<<"$dump" || fail "PatientName not emptied (Z)"
! grep -q "(0008,0080)" <<<"$dump" || fail "InstitutionName not removed (X)"
grep -q "(0012,0062) CS \[YES\]" <<<"$dump" || fail "PatientIdentityRemoved not YES"
grep -q "(0012,0063) LO \[PS3.15 Basic Profile" <<<"$dump" || fail "DeidentificationMethod missing"
grep -q "113100" <<<"$dump" || fail "DeidentificationMethodCodeSequence missing"
grep -q "(0008,0060) CS \[OT\]" <<<"$dump" || fail "Modality (K) not kept"
ok "Z emptied, X removed, K kept, PatientIdentityRemoved = YES, DeidentificationMethod(+CodeSequence)"
sop=$(grep "(0008,0018)" <<<"$dump" | sed 's/.*\[\(.*\)\].*/\1/')
meta=$(grep "(0002,0003)" <<<"$dump" | sed 's/.*\[\(.*\)\].*/\1/')
[[ $sop == 2.25.* ]] || fail "SOPInstanceUID not replaced: $sop"
[[ $sop == "$meta" ]] || fail "meta MediaStorageSOPInstanceUID $meta differs from SOPInstanceUID $sop"
ok "new SOPInstanceUID ($sop), the meta header agrees"
dcm2pnm "$work/study/img1.dcm" "$work/before.ppm" >/dev/null 2>&1 && dcm2pnm "$work/one.dcm" "$work/after.ppm" >/dev/null 2>&1 \
  || fail "dcm2pnm"
cmp -s "$work/before.ppm" "$work/after.ppm" || fail "pixels changed"
ok "pixels unchanged (dcm2pnm before and after)"
! grep -q "Doe\|MRN\|Hospital" "$work/one.err" || fail "the tool printed patient data: $(cat "$work/one.err")"
grep -q "1 file(s) written" "$work/one.err" || fail "summary: $(cat "$work/one.err")"
ok "the summary names no patient data"

# ---- a folder: one run, one study ----
echo "not a dicom file" >"$work/study/notes.txt"
set +e
"$bin" dicom-anonymize "$work/study" "$work/out" 2>"$work/dir.err"
status=$?
set -e
[ "$status" = 1 ] || fail "a folder with an unreadable file exited $status"
grep -q "notes.txt" "$work/dir.err" || fail "the unreadable file is not named: $(cat "$work/dir.err")"
[ -f "$work/out/img1.dcm" ] && [ -f "$work/out/img2.dcm" ] && [ ! -e "$work/out/notes.txt" ] || fail "folder output: $(ls "$work/out")"
uid() { local d; d=$(dcmdump "$1"); grep -m1 "($2)" <<<"$d" | sed 's/.*\[\(.*\)\].*/\1/'; }
s1=$(uid "$work/out/img1.dcm" 0020,000d); s2=$(uid "$work/out/img2.dcm" 0020,000d)
e1=$(uid "$work/out/img1.dcm" 0020,000e); e2=$(uid "$work/out/img2.dcm" 0020,000e)
i1=$(uid "$work/out/img1.dcm" 0008,0018); i2=$(uid "$work/out/img2.dcm" 0008,0018)
[[ $s1 == 2.25.* && $s1 == "$s2" && $e1 == "$e2" && $e1 != "$s1" ]] || fail "study/series UIDs not mapped consistently: $s1 $s2 $e1 $e2"
[[ $i1 != "$i2" ]] || fail "two instances got one UID"
[[ $s1 != "$(uid "$work/one.dcm" 0020,000d)" ]] || fail "another run reused the UIDs"
ok "folder: both files written, the text file refused by name (exit 1), one study and series, two instances"

# ---- the Clean Descriptors Option ----
"$bin" dicom-anonymize --clean-descriptions "$work/study/img1.dcm" "$work/clean.dcm" 2>/dev/null || fail "--clean-descriptions"
grep -q "(0008,1030) LO \[CT chest, questions to \[EMAIL_1\]\]" <<<"$(dcmdump "$work/clean.dcm")" \
  || fail "StudyDescription not cleaned: $(dcmdump "$work/clean.dcm" | grep 0008,1030)"
ok "--clean-descriptions keeps StudyDescription with the e-mail redacted"

# ---- burned-in text refused ----
cp "$work/study/img1.dcm" "$work/burned.dcm"
dcmodify -nb -i "BurnedInAnnotation=YES" "$work/burned.dcm" >/dev/null 2>&1
if "$bin" dicom-anonymize "$work/burned.dcm" "$work/b.dcm" 2>"$work/b.err"; then fail "burned-in accepted"; fi
grep -q "BurnedInAnnotation" "$work/b.err" && [ ! -e "$work/b.dcm" ] || fail "burned-in: $(cat "$work/b.err")"
"$bin" dicom-anonymize --accept-burned-in "$work/burned.dcm" "$work/b.dcm" 2>/dev/null || fail "--accept-burned-in"
ok "BurnedInAnnotation = YES refused unless --accept-burned-in"

if "$bin" dicom-anonymize "$work/one.dcm" "$work/one.dcm" 2>/dev/null; then fail "IN = OUT accepted"; fi
if "$bin" dicom-anonymize "$work/missing.dcm" "$work/x.dcm" 2>/dev/null; then fail "a missing IN accepted"; fi
ok "IN = OUT and a missing IN refused"
echo "dicom_anonymize: $passed checks passed"
