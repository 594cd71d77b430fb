/**
 * SSO Related Options an org admin sees (R-ORG-2), from the guide's matrix
 * ("SSO Related Options", seeds/000): the SSO Org and Delegated Authentication Org flags
 * decide which configuration pages exist.
 */
export const SSO_OPTIONS = [
  'federatedWebSso',
  'orgCertificates',
  'serviceCertificates',
  'partnerDelegatedAuth',
  'partnerWebSso',
] as const;
export type SsoOption = (typeof SSO_OPTIONS)[number];

export function ssoOptionsFor(flags: { ssoEnabled: boolean; delegatedAuthOrg: boolean }): SsoOption[] {
  if (flags.ssoEnabled) {
    // SSO=T, DA=F and SSO=T, DA=T show the same four links.
    return ['federatedWebSso', 'orgCertificates', 'serviceCertificates', 'partnerDelegatedAuth'];
  }
  if (flags.delegatedAuthOrg) return ['orgCertificates', 'partnerWebSso'];
  return ['partnerDelegatedAuth'];
}

const OPTION_LABELS: Record<SsoOption, string> = {
  federatedWebSso: 'Federated Web SSO Configuration',
  orgCertificates: 'Organization Certificate Management',
  serviceCertificates: 'Service Certificate Management',
  partnerDelegatedAuth: 'Partner Delegated Authentication',
  partnerWebSso: 'Partner Web SSO Configuration',
};

export function ssoOptionLabel(option: SsoOption): string {
  return OPTION_LABELS[option];
}
