package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/mldata-io/mldata/pkg/storage"
)

func parseReach(t *testing.T, args ...string) (*reachFlags, error) {
	t.Helper()
	var f reachFlags
	fl := pflag.NewFlagSet("manager", pflag.ContinueOnError)
	f.register(fl)
	if err := fl.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &f, nil
}

func TestReachFlagsDefaults(t *testing.T) {
	f, _ := parseReach(t)
	reach, pod, err := f.build()
	if err != nil {
		t.Fatal(err)
	}
	if reach.StorageTimeout != 30*time.Second || reach.MaxListObjects != 100000 || reach.MaxManifestBytes != 16<<20 {
		t.Errorf("limits: %+v", reach)
	}
	if strings.Join(reach.ServiceAccounts, ",") != "mldata-worker" {
		t.Errorf("service accounts: %v", reach.ServiceAccounts)
	}
	if err := reach.Policy.CheckURI("spec.source.uri", "file:///"); !storage.IsRefused(err) {
		t.Errorf("file:/// allowed by default: %v", err)
	}
	if pod.Env[storage.EnvAllowedSchemes] != "s3,gs,azblob" || pod.Env[storage.EnvAllowedEndpoints] != "" {
		t.Errorf("worker env: %v", pod.Env)
	}
	r := pod.Resources
	if r.Requests.Cpu().String() != "500m" || r.Requests.Memory().String() != "1Gi" || r.Limits.Memory().String() != "4Gi" {
		t.Errorf("resources: %v", r)
	}
	if _, ok := r.Limits[corev1.ResourceCPU]; ok {
		t.Errorf("a default CPU limit: %v", r.Limits)
	}
	if pod.ScratchSizeLimit == nil || pod.ScratchSizeLimit.String() != "20Gi" {
		t.Errorf("scratch: %v", pod.ScratchSizeLimit)
	}
}

func TestReachFlagsCustom(t *testing.T) {
	f, _ := parseReach(t, "--allowed-schemes=s3,file", "--allowed-endpoints=127.0.0.1/32", "--allowed-service-accounts=a,b",
		"--storage-timeout=2s", "--worker-memory-limit=", "--worker-cpu-limit=2", "--worker-scratch-size-limit=")
	reach, pod, err := f.build()
	if err != nil {
		t.Fatal(err)
	}
	if err := reach.Policy.CheckURI("spec.source.uri", "s3://b/?endpoint=http://127.0.0.1:9000"); err != nil {
		t.Errorf("allowed endpoint refused: %v", err)
	}
	if reach.StorageTimeout != 2*time.Second || strings.Join(reach.ServiceAccounts, ",") != "a,b" {
		t.Errorf("reach: %+v", reach)
	}
	if pod.Env[storage.EnvAllowedSchemes] != "s3,file" || pod.Env[storage.EnvAllowedEndpoints] != "127.0.0.1/32" {
		t.Errorf("worker env: %v", pod.Env)
	}
	if _, ok := pod.Resources.Limits[corev1.ResourceMemory]; ok || pod.Resources.Limits.Cpu().String() != "2" || pod.ScratchSizeLimit != nil {
		t.Errorf("pod defaults: %+v", pod)
	}

	for _, bad := range [][]string{
		{"--allowed-schemes=ftp"},
		{"--allowed-endpoints=http://x/"},
		{"--worker-memory-request=8Gi"}, // above the 4Gi limit
		{"--worker-cpu-request=lots"},
		{"--storage-timeout=0s"},
	} {
		f, _ := parseReach(t, bad...)
		if _, _, err := f.build(); err == nil || !isUsageError(err) {
			t.Errorf("%v: %v, want a usage error", bad, err)
		}
	}
}
