# A Job that runs one shard again, made from the Indexed Job (JSON):
#   kubectl create --dry-run=client -o json -f img-sync-job.yaml \
#     | jq --arg shard 3 -f retry-index.jq | kubectl create -f -
.metadata.name += "-shard-\($shard)"
| .spec.completions = 1
| .spec.parallelism = 1
| del(.spec.maxFailedIndexes)
| .spec.template.spec.containers[0].env += [{name: "SHARD", value: $shard}]
