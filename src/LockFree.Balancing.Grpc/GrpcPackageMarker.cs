namespace LockFree.Balancing.Grpc;

// Placeholder so the skeleton builds; removed when the first real type lands.
internal static class GrpcPackageMarker
{
}
