#!powershell

# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#Requires -Version 5.1
#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil ..module_utils.WinHttpProxy
#AnsibleRequires -CSharpUtil ..module_utils.Sessions
#AnsibleRequires -PowerShell ..module_utils.AgentDispatch
#AnsibleRequires -PowerShell ..module_utils.AgentRegistry
#AnsibleRequires -PowerShell ..module_utils.AgentServices
#AnsibleRequires -PowerShell ..module_utils.AgentNetwork
#AnsibleRequires -PowerShell ..module_utils.AgentSystem
#AnsibleRequires -PowerShell ..module_utils.AgentUsers

# The host side of m365ops.activation. It executes a list of primitive ops and returns one result per op. It holds no policy: what to read and what
# to change is decided by the action plugins on the controller. The ops live in the family modules of module_utils
# (Agent<Family>.psm1), the dispatcher in AgentDispatch.psm1; this entry point ships every family but the network probes
# and the ops run in users' sessions (win_agent_extended).

$spec = @{
    options = @{
        ops = @{ type = 'list'; elements = 'dict'; required = $true }
        strict = @{ type = 'bool'; default = $true }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
Invoke-AgentOps -Module $module -Families @(
    (Get-AgentRegistryOps), (Get-AgentServicesOps), (Get-AgentNetworkOps), (Get-AgentSystemOps), (Get-AgentUsersOps)
)
