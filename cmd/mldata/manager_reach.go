package main

import (
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mldata-io/mldata/controllers"
	"github.com/mldata-io/mldata/internal/jobs"
	"github.com/mldata-io/mldata/pkg/storage"
)

// reachFlags are the manager's flags that bound what it and its Jobs reach:
// the URI policy, storage deadlines and limits, the worker service accounts
// and the worker pods' default resources.
type reachFlags struct {
	schemes, endpoints, serviceAccounts []string
	storageTimeout                      time.Duration
	maxListObjects                      int
	maxManifestBytes                    int64
	cpuRequest, memRequest              string
	cpuLimit, memLimit, scratchLimit    string
}

func (f *reachFlags) register(fl *pflag.FlagSet) {
	fl.StringSliceVar(&f.schemes, "allowed-schemes", storage.DefaultAllowedSchemes, "URI schemes resources may use (s3, gs, azblob, file, mem); file and mem read the manager's and the pods' own filesystem and memory, for single-user and test installs only")
	fl.StringSliceVar(&f.endpoints, "allowed-endpoints", nil, "custom storage endpoints resources may use although they are loopback, link-local, private or cluster-internal: CIDRs (10.0.0.0/8), addresses, host names (minio.storage.svc) or *.suffix")
	fl.StringSliceVar(&f.serviceAccounts, "allowed-service-accounts", []string{controllers.DefaultWorkerServiceAccount}, "service accounts a resource may name in spec.serviceAccountName (a resource naming none runs as its namespace's default account)")
	fl.DurationVar(&f.storageTimeout, "storage-timeout", controllers.DefaultStorageTimeout, "deadline of each storage call the manager makes (listing a source, reading a manifest)")
	fl.IntVar(&f.maxListObjects, "max-list-objects", controllers.DefaultMaxListObjects, "most objects the manager lists in one source; a larger source stalls with LimitExceeded")
	fl.Int64Var(&f.maxManifestBytes, "max-manifest-bytes", controllers.DefaultMaxManifestBytes, "largest build manifest the manager reads into status")
	d := jobs.DefaultPodDefaults()
	fl.StringVar(&f.cpuRequest, "worker-cpu-request", quantity(d.Resources.Requests, corev1.ResourceCPU), "CPU request of worker pods whose resource sets none (\"\" for none)")
	fl.StringVar(&f.memRequest, "worker-memory-request", quantity(d.Resources.Requests, corev1.ResourceMemory), "memory request of worker pods whose resource sets none (\"\" for none)")
	fl.StringVar(&f.cpuLimit, "worker-cpu-limit", quantity(d.Resources.Limits, corev1.ResourceCPU), "CPU limit of worker pods whose resource sets none (\"\" for none)")
	fl.StringVar(&f.memLimit, "worker-memory-limit", quantity(d.Resources.Limits, corev1.ResourceMemory), "memory limit of worker pods whose resource sets none (\"\" for none)")
	fl.StringVar(&f.scratchLimit, "worker-scratch-size-limit", d.ScratchSizeLimit.String(), "sizeLimit of the worker pods' scratch emptyDir (\"\" for none)")
}

func quantity(l corev1.ResourceList, name corev1.ResourceName) string {
	if q, ok := l[name]; ok {
		return q.String()
	}
	return ""
}

// build turns the flags into the controllers' Reach and the Jobs' pod
// defaults; the policy goes into the workers' environment.
func (f *reachFlags) build() (controllers.Reach, jobs.PodDefaults, error) {
	var pod jobs.PodDefaults
	policy, err := storage.NewPolicy(f.schemes, f.endpoints)
	if err != nil {
		return controllers.Reach{}, pod, usagef("%v", err)
	}
	if f.storageTimeout <= 0 || f.maxListObjects <= 0 || f.maxManifestBytes <= 0 {
		return controllers.Reach{}, pod, usagef("--storage-timeout, --max-list-objects and --max-manifest-bytes must be positive")
	}
	sas := f.serviceAccounts
	if sas == nil {
		sas = []string{}
	}
	reach := controllers.Reach{
		Policy: policy, StorageTimeout: f.storageTimeout, MaxListObjects: f.maxListObjects,
		MaxManifestBytes: f.maxManifestBytes, ServiceAccounts: sas,
	}
	pod.Env = reach.WorkerEnv()
	pod.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, q := range []struct {
		flag, value string
		list        corev1.ResourceList
		name        corev1.ResourceName
	}{
		{"--worker-cpu-request", f.cpuRequest, pod.Resources.Requests, corev1.ResourceCPU},
		{"--worker-memory-request", f.memRequest, pod.Resources.Requests, corev1.ResourceMemory},
		{"--worker-cpu-limit", f.cpuLimit, pod.Resources.Limits, corev1.ResourceCPU},
		{"--worker-memory-limit", f.memLimit, pod.Resources.Limits, corev1.ResourceMemory},
	} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil {
			return reach, pod, usagef("%s %q: %v", q.flag, q.value, err)
		}
		q.list[q.name] = v
	}
	for name, req := range pod.Resources.Requests {
		if lim, ok := pod.Resources.Limits[name]; ok && req.Cmp(lim) > 0 {
			return reach, pod, usagef("worker %s request %s is above its limit %s", name, req.String(), lim.String())
		}
	}
	if f.scratchLimit != "" {
		v, err := resource.ParseQuantity(f.scratchLimit)
		if err != nil {
			return reach, pod, usagef("--worker-scratch-size-limit %q: %v", f.scratchLimit, err)
		}
		pod.ScratchSizeLimit = &v
	}
	return reach, pod, nil
}
