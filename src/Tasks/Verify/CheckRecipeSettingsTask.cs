using System.Globalization;
using DockerToVms.Tasks.Chroot;
using DockerToVms.Tasks.Execution;
using Microsoft.Build.Framework;

namespace DockerToVms.Tasks.Verify;

/// <summary>
/// Runs <see cref="RecipeLint"/> in the early check of every build of an app, logging
/// each finding as a coded warning or error.
/// </summary>
public sealed class CheckRecipeSettingsTask : AsyncTask
{
    /// <summary>The image the base starts from (BaseImageFrom).</summary>
    public string BaseImageFrom { get; set; } = string.Empty;

    /// <summary>
    /// Bootstrap settings set to other than their defaults: item spec the property name,
    /// <c>Value</c> its value. BaseImageFrom makes them pointless.
    /// </summary>
    public ITaskItem[] BootstrapSettings { get; set; } = [];

    /// <summary>BaseImagePackage items.</summary>
    public ITaskItem[] Packages { get; set; } = [];

    /// <summary>BaseImageExcludePackage items.</summary>
    public ITaskItem[] ExcludedPackages { get; set; } = [];

    /// <summary>BaseImageRun items.</summary>
    public ITaskItem[] Runs { get; set; } = [];

    /// <summary>Whether RUN commands must do without the network (BaseImageOffline).</summary>
    public bool Offline { get; set; }

    /// <summary>The trim level (BaseImageTrim).</summary>
    public string Trim { get; set; } = "slim";

    /// <summary>BaseImageCheck items.</summary>
    public ITaskItem[] Checks { get; set; } = [];

    /// <inheritdoc />
    protected override System.Threading.Tasks.Task ExecuteAsync(CancellationToken cancellation)
    {
        var settings = new RecipeSettings
        {
            From = BaseImageFrom.Trim(),
            BootstrapSettings = [.. BootstrapSettings.Select(i =>
                new KeyValuePair<string, string>(i.ItemSpec, i.GetMetadata("Value")))],
            Packages = [.. Packages.Select(p => p.ItemSpec)],
            ExcludedPackages = [.. ExcludedPackages.Select(p => p.ItemSpec)],
            Runs = [.. Runs.Select(ChrootExecTask.CommandOf)],
            Offline = Offline,
            Trim = Trim,
            Checks = Checks,
        };

        foreach (var finding in RecipeLint.Check(settings))
        {
            var arguments = finding.Arguments.Select(a =>
                Convert.ToString(a, CultureInfo.InvariantCulture)).ToArray();
            if (finding.IsError)
            {
                Log.LogErrorWithCodeFromResources(finding.ResourceName, arguments);
            }
            else
            {
                Log.LogWarningWithCodeFromResources(finding.ResourceName, arguments);
            }
        }

        return System.Threading.Tasks.Task.CompletedTask;
    }
}
