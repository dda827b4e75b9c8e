namespace LockFree.Balancing.Benchmarks.Simulation;

/// <summary>How many of the keys changed home pod when one pod left.</summary>
/// <param name="Keys">Keys checked.</param>
/// <param name="PodsBefore">Pods before the removal (the ideal share moved is 1/this).</param>
/// <param name="Moved">Keys whose home changed.</param>
/// <param name="OnRemovedPod">Keys whose home was the removed pod (they must move).</param>
internal sealed record KeyMovement(int Keys, int PodsBefore, int Moved, int OnRemovedPod)
{
    public int BetweenSurvivors => Moved - OnRemovedPod;
}
