# shellcheck shell=sh
# shellcheck disable=SC2154 # stamp is the including script's
mv "$stamp.partial" "$stamp"
echo "backup written: $BACKUP_DIR/$stamp ($(du -sh "$stamp" | cut -f1))"
