{{/* The release's name prefix: the release name when it contains "mldata",
else <release>-mldata. A release named mldata gives the names of the
kustomize install (mldata-controller-manager, ...). */}}
{{- define "mldata.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mldata.labels" -}}
app.kubernetes.io/name: mldata
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "mldata.selectorLabels" -}}
app.kubernetes.io/name: mldata
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end -}}

{{- define "mldata.serviceAccountName" -}}
{{ include "mldata.fullname" . }}-controller-manager
{{- end -}}

{{- define "mldata.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The manager's subject in role bindings. */}}
{{- define "mldata.managerSubject" -}}
- kind: ServiceAccount
  name: {{ include "mldata.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{/* Namespaces that get the worker service account. */}}
{{- define "mldata.workerNamespaces" -}}
{{- if eq .Values.scope "namespaced" -}}
{{ toJson .Values.watchNamespaces }}
{{- else -}}
{{ toJson .Values.workerServiceAccount.namespaces }}
{{- end -}}
{{- end -}}
