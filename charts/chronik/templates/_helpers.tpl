{{- define "chronik.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "chronik.operatorName" -}}
{{- printf "%s-operator" (include "chronik.fullname" .) -}}
{{- end -}}

{{- define "chronik.labels" -}}
app.kubernetes.io/name: chronik-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "chronik.selectorLabels" -}}
app.kubernetes.io/name: chronik-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Rules for the objects the operator reads and owns in a watched namespace. */}}
{{- define "chronik.namespacedRules" -}}
- apiGroups: ["chronik.io"]
  resources: ["chronikclusters"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["chronik.io"]
  resources: ["chronikclusters/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["services", "configmaps", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The admin token of each cluster's brokers: created once, read on every reconcile.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "patch", "delete"]
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["get", "list", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.serviceMonitorRbac }}
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- end }}
{{- end -}}
