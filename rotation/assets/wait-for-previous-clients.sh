# shellcheck shell=sh
# The pods that hold the previous generation carry it in a label. Once none is left, no client
# can use the previous password any more. kubectl wait --for=delete succeeds at once when
# nothing matches.
selector="$GENERATION_LABEL=$PREVIOUS_GENERATION"
start=$(date +%s)
echo "waiting up to ${DRAIN_SECONDS}s for the pods with $selector to be gone"
if kubectl wait pods -l "$selector" --for=delete --timeout="${DRAIN_SECONDS}s"; then
  echo "no pod holds the previous generation"
  exit 0
fi
# An error before the time is up (the API unreachable, a right missing) fails the job, which
# runs again. Past it, the clients' longest grace period is over since they were stopped: their
# kubelets have killed them, and a pod still listed is on a node that no longer answers.
if [ $(($(date +%s) - start)) -lt "$DRAIN_SECONDS" ]; then
  echo "kubectl wait failed before ${DRAIN_SECONDS}s were over" >&2
  exit 1
fi
kubectl get pods -l "$selector" -o name
echo "still listed after ${DRAIN_SECONDS}s, their nodes not answering: retiring anyway"
