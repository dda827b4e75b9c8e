namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>A kubeconfig user's <c>exec</c> credential plugin, validated and with its paths resolved.</summary>
/// <param name="ApiVersion"><c>client.authentication.k8s.io/v1</c> or <c>/v1beta1</c>; the plugin must answer with the same.</param>
/// <param name="Command">The program: a bare name is looked up on PATH, a relative path was resolved against the kubeconfig's folder.</param>
/// <param name="Arguments">Its arguments, passed as they are (no shell).</param>
/// <param name="Environment">Variables added to the watcher's own environment.</param>
/// <param name="InstallHint">The kubeconfig's <c>installHint</c>, shown when the command is missing.</param>
/// <param name="ClusterInfoJson">The <c>spec.cluster</c> object for <c>KUBERNETES_EXEC_INFO</c> when <c>provideClusterInfo</c> is set.</param>
/// <param name="KubeConfigFile">The kubeconfig file that defined the user, for messages.</param>
internal sealed record ExecCredentialSettings(
    string ApiVersion,
    string Command,
    IReadOnlyList<string> Arguments,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    string? InstallHint,
    string? ClusterInfoJson,
    string KubeConfigFile);
