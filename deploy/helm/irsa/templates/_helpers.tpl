{{/* The chart name, or nameOverride. */}}
{{- define "irsa.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: fullnameOverride, else RELEASE-NAME, or
RELEASE alone when it already contains the chart name. Kept to 55
characters so that "-webhook" still fits in a DNS label.
*/}}
{{- define "irsa.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "irsa.webhookName" -}}
{{- printf "%s-webhook" (include "irsa.fullname" .) }}
{{- end }}

{{- define "irsa.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "irsa.labels" -}}
helm.sh/chart: {{ include "irsa.chart" . }}
app.kubernetes.io/name: {{ include "irsa.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: irsa
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: include with (list $ "server"). */}}
{{- define "irsa.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "irsa.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Labels of one component's objects: include with (list $ "server"). */}}
{{- define "irsa.componentLabels" -}}
{{ include "irsa.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "irsa.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "irsa.serverServiceAccountName" -}}
{{- if .Values.server.serviceAccount.create }}
{{- default (include "irsa.fullname" .) .Values.server.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.server.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "irsa.webhookServiceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create }}
{{- default (include "irsa.webhookName" .) .Values.webhook.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.webhook.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the webhook's tls.crt and tls.key (and ca.crt). */}}
{{- define "irsa.webhookTLSSecret" -}}
{{- printf "%s-tls" (include "irsa.webhookName" .) }}
{{- end }}

{{/* The STS endpoint injected into pods, or "" for none. */}}
{{- define "irsa.stsEndpointUrl" -}}
{{- if .Values.webhook.stsEndpointUrl }}
{{- .Values.webhook.stsEndpointUrl }}
{{- else if .Values.server.enabled }}
{{- printf "http://%s.%s.svc:%d" (include "irsa.fullname" .) .Release.Namespace (int .Values.server.port) }}
{{- end }}
{{- end }}

{{/*
How the webhook certificate is managed: certManager, helm or external.
Fails on an unknown mode.
*/}}
{{- define "irsa.certMode" -}}
{{- if .Values.certManager.enabled }}
{{- "certManager" }}
{{- else if has .Values.certificates.mode (list "helm" "external") }}
{{- .Values.certificates.mode }}
{{- else }}
{{- fail (printf "certificates.mode must be helm or external (or set certManager.enabled=true), got %q" .Values.certificates.mode) }}
{{- end }}
{{- end }}

{{/* The DNS names the webhook's serving certificate must hold. */}}
{{- define "irsa.webhookDNSNames" -}}
{{- $svc := include "irsa.webhookName" . }}
{{- $ns := .Release.Namespace }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) | toJson }}
{{- end }}

{{/* Checks of values that Kubernetes would only reject at apply time. */}}
{{- define "irsa.validate" -}}
{{- if not (has .Values.webhook.admission.failurePolicy (list "Ignore" "Fail")) }}
{{- fail (printf "webhook.admission.failurePolicy must be Ignore or Fail, got %q" .Values.webhook.admission.failurePolicy) }}
{{- end }}
{{- if not (has .Values.webhook.admission.reinvocationPolicy (list "IfNeeded" "Never")) }}
{{- fail (printf "webhook.admission.reinvocationPolicy must be IfNeeded or Never, got %q" .Values.webhook.admission.reinvocationPolicy) }}
{{- end }}
{{- $t := int .Values.webhook.admission.timeoutSeconds }}
{{- if or (lt $t 1) (gt $t 30) }}
{{- fail (printf "webhook.admission.timeoutSeconds must be between 1 and 30, got %d" $t) }}
{{- end }}
{{- if lt (int64 .Values.webhook.tokenExpiration) 600 }}
{{- fail (printf "webhook.tokenExpiration must be at least 600 seconds, got %v" .Values.webhook.tokenExpiration) }}
{{- end }}
{{- if not (regexMatch "^[0-9]{12}$" (toString .Values.server.accountId)) }}
{{- fail (printf "server.accountId must be 12 digits, got %q" (toString .Values.server.accountId)) }}
{{- end }}
{{- include "irsa.validatePodIdentity" . }}
{{- end }}

{{- define "irsa.agentName" -}}
{{- printf "%s-agent" (include "irsa.fullname" .) }}
{{- end }}

{{- define "irsa.agentServiceAccountName" -}}
{{- if .Values.podIdentity.agent.serviceAccount.create }}
{{- default (include "irsa.agentName" .) .Values.podIdentity.agent.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.podIdentity.agent.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* irsa's EKS and EKS Auth endpoint for the webhook and the agents, or "". */}}
{{- define "irsa.podIdentityEndpoint" -}}
{{- if .Values.podIdentity.endpoint }}
{{- .Values.podIdentity.endpoint }}
{{- else if .Values.server.enabled }}
{{- printf "http://%s.%s.svc:%d" (include "irsa.fullname" .) .Release.Namespace (int .Values.server.port) }}
{{- end }}
{{- end }}

{{/* The region the EKS and EKS Auth calls are signed for. */}}
{{- define "irsa.podIdentityRegion" -}}
{{- default .Values.server.region .Values.podIdentity.region }}
{{- end }}

{{/*
The agent's credentials endpoint as pods reach it
(AWS_CONTAINER_CREDENTIALS_FULL_URI): podIdentity.credentialsUri, else the
first bind host and the port.
*/}}
{{- define "irsa.podIdentityCredentialsUri" -}}
{{- if .Values.podIdentity.credentialsUri }}
{{- .Values.podIdentity.credentialsUri }}
{{- else }}
{{- $host := first .Values.podIdentity.agent.bindHosts }}
{{- $port := int .Values.podIdentity.agent.port }}
{{- if eq $port 80 }}
{{- printf "http://%s/v1/credentials" $host }}
{{- else }}
{{- printf "http://%s:%d/v1/credentials" $host $port }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The AWS credentials the webhook (Pod Identity mode) and the agents sign
their calls to irsa with: a role assumed with web identity through irsa's
STS (the pod gets a projected token for sts.amazonaws.com: the webhook does
not mutate its own pods), or the keys of a Secret. IMDS is off, so that a
node's own role never signs calls meant for irsa.
Include with (list $ "ENV"|"VOLUME"|"MOUNT").
*/}}
{{- define "irsa.podIdentityCredentials" -}}
{{- $root := index . 0 }}
{{- $part := index . 1 }}
{{- $c := $root.Values.podIdentity.credentials }}
{{- if eq $part "ENV" }}
- name: AWS_REGION
  value: {{ include "irsa.podIdentityRegion" $root | quote }}
- name: AWS_EC2_METADATA_DISABLED
  value: "true"
{{- if $c.roleArn }}
- name: AWS_ROLE_ARN
  value: {{ $c.roleArn | quote }}
- name: AWS_WEB_IDENTITY_TOKEN_FILE
  value: /var/run/secrets/eks.amazonaws.com/serviceaccount/token
- name: AWS_ROLE_SESSION_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- with include "irsa.stsEndpointUrl" $root }}
- name: AWS_ENDPOINT_URL_STS
  value: {{ . | quote }}
{{- end }}
{{- else if $c.secretName }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $c.secretName }}
      key: {{ $c.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $c.secretName }}
      key: {{ $c.secretAccessKeyKey }}
{{- end }}
{{- else if and (eq $part "VOLUME") $c.roleArn }}
- name: aws-iam-token
  projected:
    sources:
      - serviceAccountToken:
          audience: sts.amazonaws.com
          expirationSeconds: 86400
          path: token
{{- else if and (eq $part "MOUNT") $c.roleArn }}
- name: aws-iam-token
  mountPath: /var/run/secrets/eks.amazonaws.com/serviceaccount
  readOnly: true
{{- end }}
{{- end }}

{{/* Checks of the podIdentity values. */}}
{{- define "irsa.validatePodIdentity" -}}
{{- $p := .Values.podIdentity }}
{{- if $p.enabled }}
{{- if not (regexMatch "^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$" (toString $p.clusterName)) }}
{{- fail (printf "podIdentity.clusterName must be an EKS cluster name (the name the associations are created under), got %q" (toString $p.clusterName)) }}
{{- end }}
{{- if not (include "irsa.podIdentityEndpoint" .) }}
{{- fail "podIdentity.endpoint is required when server.enabled is false: the URL of irsa's EKS and EKS Auth API" }}
{{- end }}
{{- if and $p.credentials.roleArn $p.credentials.secretName }}
{{- fail "podIdentity.credentials: set roleArn or secretName, not both" }}
{{- end }}
{{- if not (or $p.credentials.roleArn $p.credentials.secretName) }}
{{- fail "podIdentity.credentials.roleArn or podIdentity.credentials.secretName is required: the webhook and the agents sign their calls to irsa with it" }}
{{- end }}
{{- if not $p.agent.bindHosts }}
{{- fail "podIdentity.agent.bindHosts must name at least one address" }}
{{- end }}
{{- end }}
{{- end }}
