namespace DeepExtension.Core.BaseModels;

/// <summary>A model folder that cannot be registered, with a message meant for the user.</summary>
public sealed class ModelFolderException(string message) : Exception(message);
