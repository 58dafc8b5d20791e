{{/* Names: a release called "codio" gives codio-edge, codio-relay-0.codio-relay, … */}}
{{- define "codio.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "codio.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Leaves room for "-relay-NN" so relay pod names stay valid DNS labels. */}}
{{- define "codio.componentName" -}}
{{- printf "%s-%s" (include "codio.fullname" .root | trunc 45 | trimSuffix "-") .component }}
{{- end }}

{{- define "codio.selectorLabels" -}}
app.kubernetes.io/name: {{ include "codio.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "codio.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "codio.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: codio
{{- end }}

{{- define "codio.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "codio.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image of a role: registry/repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "codio.image" -}}
{{- $v := index .root.Values .component -}}
{{- $repo := $v.image.repository }}
{{- with .root.Values.image.registry }}{{ $repo = printf "%s/%s" . $repo }}{{ end }}
{{- printf "%s:%s" $repo (default (default .root.Chart.AppVersion .root.Values.image.tag) $v.image.tag) }}
{{- end }}

{{- define "codio.clusterDomain" -}}
{{- printf "%s.svc.%s" .Release.Namespace .Values.clusterDomain }}
{{- end }}

{{/* One bootstrap multiaddr per relay ordinal; /p2p/<id> only when the peer IDs are known. */}}
{{- define "codio.relayBootstrap" -}}
{{- $relay := include "codio.componentName" (dict "root" . "component" "relay") }}
{{- $ids := .Values.relay.peerKeys.peerIds }}
{{- $addrs := list }}
{{- range $i := until (int .Values.relay.replicas) }}
{{- $addr := printf "/dns4/%s-%d.%s.%s/tcp/4001" $relay $i $relay (include "codio.clusterDomain" $) }}
{{- if and $.Values.relay.peerKeys.existingSecret (lt $i (len $ids)) }}
{{- $addr = printf "%s/p2p/%s" $addr (index $ids $i) }}
{{- end }}
{{- $addrs = append $addrs $addr }}
{{- end }}
{{- toJson $addrs }}
{{- end }}

{{- define "codio.natsUrls" -}}
{{- if .Values.nats.enabled }}
{{- $name := default (include "codio.natsFullname" .) .Values.nats.fullnameOverride }}
{{- toJson (list (printf "nats://%s.%s:4222" $name (include "codio.clusterDomain" .))) }}
{{- else }}
{{- toJson (list (required "externalNats.url is required when nats.enabled=false" .Values.externalNats.url)) }}
{{- end }}
{{- end }}

{{/* The NATS subchart's own fullname rule (nats.fullname), seen from the parent. */}}
{{- define "codio.natsFullname" -}}
{{- $name := default "nats" .Values.nats.nameOverride }}
{{- if contains $name .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{ else }}{{ printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "codio.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s.%s:6379" (include "codio.componentName" (dict "root" . "component" "redis")) (include "codio.clusterDomain" .) }}
{{- else }}
{{- required "externalRedis.url is required when redis.enabled=false" .Values.externalRedis.url }}
{{- end }}
{{- end }}

{{/* Publisher key: the Secret holding it, the key inside, and whether edges/relays must mount it. */}}
{{- define "codio.publisherSecret" -}}
{{- default (include "codio.componentName" (dict "root" . "component" "publisher")) .Values.publisher.existingSecret }}
{{- end }}

{{- define "codio.publisherKeyName" -}}
{{- if .Values.publisher.existingSecret }}{{ .Values.publisher.secretKey }}{{ else }}publisher.pem{{ end }}
{{- end }}

{{/* "true" when edges and relays trust a mounted key file rather than publisher.publicKey. */}}
{{- define "codio.trustKeyFile" -}}
{{- if not .Values.publisher.publicKey }}true{{ end }}
{{- end }}

{{/* Bearer tokens: the Secret holding them (keys read, admin, publish, node), mounted at /etc/codio/tokens. */}}
{{- define "codio.authSecret" -}}
{{- default (include "codio.componentName" (dict "root" . "component" "auth")) .Values.auth.existingSecret }}
{{- end }}

{{/* The tokens each role holds: what its endpoints accept, and the node token it shows the tracker. */}}
{{- define "codio.tokenKeys" -}}
{{- $keys := dict "edge" (list "read" "admin" "node") "relay" (list "read" "admin" "node") "origin" (list "read" "admin" "publish" "node") "tracker" (list "read" "admin" "node") "test" (list "publish") }}
{{- toJson (index $keys .component) }}
{{- end }}

{{/* The tokens volume of a role's pod: only the keys it needs. */}}
{{- define "codio.tokensVolume" -}}
- name: tokens
  secret:
    secretName: {{ include "codio.authSecret" .root }}
    defaultMode: 0440
    items:
      {{- range $k := include "codio.tokenKeys" . | fromJsonArray }}
      - key: {{ $k }}
        path: {{ $k }}
      {{- end }}
{{- end }}

{{/* The [auth] table of a role (@codio/auth), naming the mounted token files. */}}
{{- define "codio.authConfig" -}}
{{- $f := dict "readTokenFiles" (list "/etc/codio/tokens/read") "adminTokenFiles" (list "/etc/codio/tokens/admin") "required" .root.Values.auth.required }}
{{- if eq .component "origin" }}{{ $_ := set $f "publishTokenFiles" (list "/etc/codio/tokens/publish") }}{{ end }}
{{- if eq .component "tracker" }}{{ $_ := set $f "nodeTokenFiles" (list "/etc/codio/tokens/node") }}{{ end }}
{{- toJson $f }}
{{- end }}

{{- define "codio.trust" -}}
{{- $keys := list }}
{{- if .Values.publisher.publicKey }}
{{- $keys = append $keys .Values.publisher.publicKey }}
{{- else }}
{{- $keys = append $keys (printf "/etc/codio/publisher/%s" (include "codio.publisherKeyName" .)) }}
{{- end }}
{{- toJson (dict "publisherKeys" (concat $keys .Values.publisher.extraTrustedKeys)) }}
{{- end }}

{{/*
The TOML of a role: the chart's defaults (container listeners, data dir, bootstrap, tracker,
trust), with <role>.config merged over them. Shared by the ConfigMap and checksum/config.
*/}}
{{- define "codio.config" -}}
{{- $root := .root }}
{{- $role := .component }}
{{- $tracker := include "codio.componentName" (dict "root" $root "component" "tracker") }}
{{- $d := dict }}
{{- if eq $role "tracker" }}
{{- $d = dict "http" (dict "host" "0.0.0.0" "port" 7090) "rpc" (dict "host" "0.0.0.0" "port" 7091) "nats" (dict "servers" (include "codio.natsUrls" $root | fromJsonArray)) "redis" (dict "url" (include "codio.redisUrl" $root)) }}
{{- $_ := set $d "auth" (include "codio.authConfig" . | fromJson) }}
{{- else }}
{{- $ports := dict "edge" (list 8080 8081) "relay" (list 7080 7081) "origin" (list 7070 7071) }}
{{- $p := index $ports $role }}
{{- $d = dict "dataDir" "/var/lib/codio" "http" (dict "host" "0.0.0.0" "port" (index $p 0)) "admin" (dict "host" "0.0.0.0" "port" (index $p 1)) }}
{{- $_ := set $d "p2p" (dict "listen" (list "/ip4/0.0.0.0/tcp/4001" "/ip4/0.0.0.0/udp/4001/quic-v1") "bootstrap" (include "codio.relayBootstrap" $root | fromJsonArray) "bulk" (dict "port" 4002)) }}
{{- $_ := set $d "trust" (include "codio.trust" $root | fromJson) }}
{{- $_ := set $d "tracker" (dict "url" (printf "http://%s.%s:7091" $tracker (include "codio.clusterDomain" $root)) "nats" (include "codio.natsUrls" $root | fromJsonArray) "tokenFile" "/etc/codio/tokens/node") }}
{{- $_ := set $d "auth" (include "codio.authConfig" . | fromJson) }}
{{- if eq $role "origin" }}
{{- $_ := set $d "publisher" (dict "keyFile" (printf "/etc/codio/publisher/%s" (include "codio.publisherKeyName" $root))) }}
{{- end }}
{{- end }}
{{- $user := deepCopy (index $root.Values $role).config }}
{{- include "codio.wholeNumbers" $user }}
{{- toToml (mustMergeOverwrite $d $user) }}
{{- end }}

{{/*
Numbers in values arrive as float64, which toToml writes as 1000.0: turn whole ones into
integers, in place (maps are shared with the caller). Renders nothing.
*/}}
{{- define "codio.wholeNumbers" -}}
{{- range $k, $v := . }}
{{- if kindIs "map" $v }}
{{- include "codio.wholeNumbers" $v }}
{{- else if and (kindIs "float64" $v) (eq $v (floor $v)) }}
{{- $_ := set $ $k (int64 $v) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "codio.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "codio.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod-level fields every Codio pod shares: scheduling, pull secrets, service account. */}}
{{- define "codio.podCommon" -}}
{{- $v := index .root.Values .component -}}
serviceAccountName: {{ include "codio.serviceAccountName" .root }}
automountServiceAccountToken: false
securityContext:
  {{- include "codio.podSecurityContext" . | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The Codio container of a role: image, config, ports, probes, limits, hardening. */}}
{{- define "codio.container" -}}
{{- $v := index .root.Values .component -}}
- name: {{ .component }}
  image: {{ include "codio.image" . }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  # the ConfigMap as a directory, not a subPath file: subPath mounts never see an update, and
  # podman kube play (the chart's smoke test) cannot mount one
  args: ["--config", "/etc/codio/config/codio.toml"]
  env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    {{- with .env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with .root.Values.tracing }}
    {{- if .otlpEndpoint }}
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: {{ .otlpEndpoint | quote }}
    - name: OTEL_TRACES_SAMPLER_ARG
      value: {{ .samplerRatio | toString | quote }}
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: OTEL_RESOURCE_ATTRIBUTES
      value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE)"
    {{- end }}
    {{- end }}
    {{- with $v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    {{- toYaml .ports | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: http
    {{- toYaml $v.livenessProbe | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: http
    {{- toYaml $v.readinessProbe | nindent 4 }}
  resources:
    {{- toYaml $v.resources | nindent 4 }}
  securityContext:
    {{- include "codio.securityContext" . | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: /etc/codio/config
      readOnly: true
    - name: tokens
      mountPath: /etc/codio/tokens
      readOnly: true
    {{- with .mounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{- define "codio.p2pPorts" -}}
- name: p2p-tcp
  containerPort: 4001
  protocol: TCP
- name: p2p-quic
  containerPort: 4001
  protocol: UDP
- name: p2p-bulk
  containerPort: 4002
  protocol: TCP
{{- end }}

{{- define "codio.podAnnotations" -}}
checksum/config: {{ include "codio.config" . | sha256sum }}
{{- with (index .root.Values .component).podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
