// Starting points for a new rule: each is a valid rule once its template exists in the stack
// (the demo's do). The marketer changes the ids and conditions; the server validates every key.
export const RULE_TEMPLATES = [
  {
    name: 'Thank-you email after a sale',
    rule: {
      ruleId: 'new-thank-you',
      campaignId: 'loyalty-2026',
      enabled: true,
      priority: 40,
      description: 'A sale earns a thank-you email with an accessory voucher',
      when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'] },
      then: { channel: 'email', template: 'thank-you-offer', offer: 'ACC10' },
    },
  },
  {
    name: 'Renewal offer before a licence runs out',
    rule: {
      ruleId: 'new-renewal-offer',
      campaignId: 'renewals-2026',
      enabled: true,
      priority: 50,
      description: 'Customers whose licence runs out within 30 days get a renewal offer',
      when: { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'], detail: { daysLeft: [{ numeric: ['<=', 30] }] } },
      then: { channel: 'email', template: 'renewal-offer', offer: 'RENEW20' },
    },
  },
  {
    name: 'Call-list entry when a licence expires',
    rule: {
      ruleId: 'new-call-list',
      campaignId: 'winback-2026',
      enabled: true,
      priority: 10,
      description: 'An expired licence puts the customer on the call-centre list',
      when: { source: ['baton.erp'], 'detail-type': ['LicenseExpired'] },
      then: { channel: 'bus', action: 'add-to-call-list', payload: { list: 'winback' } },
    },
  },
];
