package localnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

const defaultVolumeMode = 0o644

// unsupportedVolumes names the pod's volumes that this node cannot provide,
// so that the pod is rejected at once with a message saying which.
func unsupportedVolumes(pod *corev1.Pod) error {
	var bad []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.EmptyDir != nil, v.Secret != nil, v.ConfigMap != nil, v.DownwardAPI != nil, v.HostPath != nil:
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ClusterTrustBundle != nil || s.PodCertificate != nil {
					bad = append(bad, fmt.Sprintf("%s (projected clusterTrustBundle/podCertificate)", v.Name))
				}
			}
		default:
			bad = append(bad, fmt.Sprintf("%s (%s)", v.Name, volumeKind(v)))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("volumes %s are not supported by mldata-node, which provides emptyDir, secret, configMap, projected, downwardAPI and hostPath volumes only",
			strings.Join(bad, ", "))
	}
	return nil
}

func volumeKind(v corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return "persistentVolumeClaim"
	case v.Ephemeral != nil:
		return "ephemeral"
	case v.NFS != nil:
		return "nfs"
	case v.CSI != nil:
		return "csi"
	case v.Image != nil:
		return "image"
	}
	return "unsupported type"
}

// volumeSetupError is a volume that cannot be set up yet (its Secret or
// ConfigMap is missing): the pod stays ContainerCreating and the node retries.
type volumeSetupError struct {
	volume string
	err    error
}

func (e *volumeSetupError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.volume, e.err)
}

// prepareVolumes writes the pod's volumes under dir/<name> and returns each
// volume's host path. Volumes already present (an emptyDir after a retry)
// keep their content.
func prepareVolumes(ctx context.Context, objs objects, pod *corev1.Pod, dir string, f podFields) (map[string]string, error) {
	paths := make(map[string]string, len(pod.Spec.Volumes))
	var fsGroup *int64
	if sc := pod.Spec.SecurityContext; sc != nil {
		fsGroup = sc.FSGroup
	}
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil {
			p, err := hostPathVolume(v.HostPath)
			if err != nil {
				return nil, &volumeSetupError{v.Name, err}
			}
			paths[v.Name] = p
			continue
		}
		p := filepath.Join(dir, v.Name)
		paths[v.Name] = p
		if v.EmptyDir != nil {
			if err := os.MkdirAll(p, 0o777); err != nil {
				return nil, &volumeSetupError{v.Name, err}
			}
			// The umask must not take write access from other users: a
			// container running as another user writes here.
			if err := os.Chmod(p, 0o777); err != nil {
				return nil, &volumeSetupError{v.Name, err}
			}
			if err := chownTree(p, fsGroup); err != nil {
				return nil, &volumeSetupError{v.Name, err}
			}
			continue
		}
		files, err := volumeFiles(ctx, objs, pod, v, f)
		if err != nil {
			return nil, &volumeSetupError{v.Name, err}
		}
		if err := writeVolume(p, files, fsGroup); err != nil {
			return nil, &volumeSetupError{v.Name, err}
		}
	}
	return paths, nil
}

func hostPathVolume(h *corev1.HostPathVolumeSource) (string, error) {
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	switch t {
	case corev1.HostPathDirectoryOrCreate:
		return h.Path, os.MkdirAll(h.Path, 0o755)
	case corev1.HostPathFileOrCreate:
		if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
			return "", err
		}
		f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return "", err
		}
		return h.Path, f.Close()
	case corev1.HostPathUnset:
		return h.Path, nil
	}
	if _, err := os.Stat(h.Path); err != nil {
		return "", fmt.Errorf("hostPath type check failed: %w", err)
	}
	return h.Path, nil
}

type volumeFile struct {
	path string
	data []byte
	mode os.FileMode
}

// volumeFiles computes the files of a secret, configMap, downwardAPI or
// projected volume.
func volumeFiles(ctx context.Context, objs objects, pod *corev1.Pod, v corev1.Volume, f podFields) ([]volumeFile, error) {
	mode := func(def *int32) os.FileMode {
		if def != nil {
			return os.FileMode(*def)
		}
		return defaultVolumeMode
	}
	switch {
	case v.Secret != nil:
		return secretFiles(ctx, objs, pod, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode(v.Secret.DefaultMode))
	case v.ConfigMap != nil:
		return configMapFiles(ctx, objs, pod, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode(v.ConfigMap.DefaultMode))
	case v.DownwardAPI != nil:
		return downwardFiles(pod, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode), f)
	case v.Projected != nil:
		def := mode(v.Projected.DefaultMode)
		// The API server's service-account volume projects a token, the
		// cluster CA ConfigMap and the namespace. Workers here never call the
		// API, so the token is left out and a CA ConfigMap that is not
		// published yet does not hold the pod back.
		hasToken := false
		for _, s := range v.Projected.Sources {
			hasToken = hasToken || s.ServiceAccountToken != nil
		}
		var out []volumeFile
		for _, s := range v.Projected.Sources {
			var files []volumeFile
			var err error
			switch {
			case s.Secret != nil:
				files, err = secretFiles(ctx, objs, pod, s.Secret.Name, s.Secret.Items, s.Secret.Optional, def)
			case s.ConfigMap != nil:
				optional := s.ConfigMap.Optional
				if hasToken {
					optional = ptrTrue()
				}
				files, err = configMapFiles(ctx, objs, pod, s.ConfigMap.Name, s.ConfigMap.Items, optional, def)
			case s.DownwardAPI != nil:
				files, err = downwardFiles(pod, s.DownwardAPI.Items, def, f)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported volume type")
}

func ptrTrue() *bool { b := true; return &b }

func itemMode(item corev1.KeyToPath, def os.FileMode) os.FileMode {
	if item.Mode != nil {
		return os.FileMode(*item.Mode)
	}
	return def
}

func secretFiles(ctx context.Context, objs objects, pod *corev1.Pod, name string, items []corev1.KeyToPath, opt *bool, def os.FileMode) ([]volumeFile, error) {
	s, err := objs.secret(ctx, pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional(opt) {
			return nil, nil
		}
		return nil, err
	}
	return keyFiles(s.Data, items, opt, def, "secret")
}

func configMapFiles(ctx context.Context, objs objects, pod *corev1.Pod, name string, items []corev1.KeyToPath, opt *bool, def os.FileMode) ([]volumeFile, error) {
	cm, err := objs.configMap(ctx, pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional(opt) {
			return nil, nil
		}
		return nil, err
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyFiles(data, items, opt, def, "configmap")
}

func keyFiles(data map[string][]byte, items []corev1.KeyToPath, opt *bool, def os.FileMode, kind string) ([]volumeFile, error) {
	var out []volumeFile
	if len(items) == 0 {
		for _, k := range sortedKeys(data) {
			out = append(out, volumeFile{k, data[k], def})
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional(opt) {
				continue
			}
			return nil, fmt.Errorf("%s references non-existent %s key: %s", kind, kind, it.Key)
		}
		out = append(out, volumeFile{it.Path, v, itemMode(it, def)})
	}
	return out, nil
}

func downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def os.FileMode, f podFields) ([]volumeFile, error) {
	var out []volumeFile
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			v, err = fieldValue(pod, it.FieldRef.FieldPath, f)
		case it.ResourceFieldRef != nil:
			if len(pod.Spec.Containers) == 0 {
				return nil, fmt.Errorf("downwardAPI %s: pod has no containers", it.Path)
			}
			v, err = resourceValue(pod, &pod.Spec.Containers[0], it.ResourceFieldRef, f)
		}
		if err != nil {
			return nil, fmt.Errorf("downwardAPI %s: %w", it.Path, err)
		}
		mode := def
		if it.Mode != nil {
			mode = os.FileMode(*it.Mode)
		}
		out = append(out, volumeFile{it.Path, []byte(v), mode})
	}
	return out, nil
}

// writeVolume replaces dir's content with files.
func writeVolume(dir string, files []volumeFile, fsGroup *int64) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if filepath.IsAbs(f.path) || strings.Contains("/"+f.path+"/", "/../") {
			return fmt.Errorf("item path %q must be relative and must not contain '..'", f.path)
		}
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return err
		}
		mode := f.mode
		if fsGroup != nil {
			// As the kubelet does for fsGroup: the group may read what the
			// owner may read.
			mode |= (mode & 0o600) >> 3
		}
		if err := os.Chmod(p, mode&0o7777); err != nil {
			return err
		}
	}
	return chownTree(dir, fsGroup)
}

func chownTree(dir string, fsGroup *int64) error {
	if fsGroup == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, -1, int(*fsGroup))
	})
}
