using MudBlazor;

namespace DeepExtension.Web.Components.Layout;

public partial class MainLayout
{
    private readonly MudTheme _theme = new();
    private MudThemeProvider? _themeProvider;
    private bool _drawerOpen = true;
    private bool _isDarkMode;

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (firstRender && _themeProvider is not null)
        {
            // Start from the operating system's preference; the toggle overrides it for this session.
            _isDarkMode = await _themeProvider.GetSystemDarkModeAsync();
            StateHasChanged();
        }
    }

    private void ToggleDrawer() => _drawerOpen = !_drawerOpen;

    private void ToggleTheme() => _isDarkMode = !_isDarkMode;
}
